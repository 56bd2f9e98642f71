"""What this machine has, read without TensorFlow: its physical memory."""

import os


def physical_memory_bytes() -> int | None:
    """The machine's RAM in bytes; None where the system does not say.

    Example:
        >>> physical_memory_bytes()
        16777216000
    """
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
