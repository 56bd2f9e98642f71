"""`python cli.py fit | generate | evaluate ...`: the package's command line."""

from keras_rnn_textgen.cli import main

if __name__ == "__main__":
    main()
