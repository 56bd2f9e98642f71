"""The ids every tokenizer reserves; importable without TensorFlow."""

PAD_ID = 0
UNK_ID = 1
RESERVED_IDS = 2
