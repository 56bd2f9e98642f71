"""`python cli.py fit | generate | evaluate ...`: the package's command line."""

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
