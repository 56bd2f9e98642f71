"""Whether a model's training state fits in this machine's memory; no TensorFlow."""

from keras_rnn_textgen.config import ModelConfig
from keras_rnn_textgen.machine import physical_memory_bytes

# Float32 copies of each parameter while training: weights, gradients, Adam's two moments.
TRAINING_BYTES_PER_PARAMETER = 16


def check_training_memory(config: ModelConfig, memory_bytes: int | None = None) -> None:
    """Refuses a model whose training state would not fit in half of this machine's memory.

    Training holds four float32 copies of every parameter (weights, gradients
    and Adam's two moments); with `vocab_size` still 0 the estimate is the
    least the architecture can need.

    Args:
        config: the architecture.
        memory_bytes: the memory to compare with; None reads the machine's RAM
            (no check where the system does not say).

    Example:
        >>> check_training_memory(ModelConfig(layers=4, units=8192))  # on a 16 GiB machine
        ValueError: lstm with `layers` 4 x `units` 8192 (...) has 1,881,301,187 parameters: ...
    """
    if memory_bytes is None:
        memory_bytes = physical_memory_bytes()
        if memory_bytes is None:
            return
    parameters = config.parameter_count()
    needed = parameters * TRAINING_BYTES_PER_PARAMETER
    if needed > memory_bytes / 2:
        vocabulary = f"{config.vocab_size:,} tokens" if config.vocab_size else "not yet read"
        raise ValueError(
            f"{config.cell} with `layers` {config.layers} x `units` {config.units} "
            f"(`embedding_dim` {config.embedding_dim}, vocabulary {vocabulary}) has "
            f"{parameters:,} parameters: {needed / 2**30:.1f} GiB to train (weights, gradients "
            f"and Adam's two moments, float32), more than half of this machine's "
            f"{memory_bytes / 2**30:.1f} GiB; use fewer units or layers"
        )
