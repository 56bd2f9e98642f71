"""`python -m keras_rnn_textgen fit | generate | ...`: the command line, as `cli.py` runs it."""

import signal
import sys

if __name__ == "__main__":
    # A signal while the command line itself is imported ends it as one later would.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        from keras_rnn_textgen.cli import run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    run()
