"""Train recurrent (SimpleRNN, LSTM, GRU) text generators with Keras and ship them."""

__version__ = "0.1.0"
