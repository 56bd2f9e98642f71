"""A trained model folder in one object: `load` and `TrainedModel`, the package's front door."""

import os
from collections.abc import Callable, Sequence

from keras_rnn_textgen.config import TrainConfig
from keras_rnn_textgen.saving.loading import ModelFolder, read_model_folder


class TrainedModel(ModelFolder):
    """A model folder loaded for use: the Keras model, its tokenizer and configs.

    Example:
        >>> import keras_rnn_textgen as ktg
        >>> lm = ktg.load("saved_models/gru-2x256")
        >>> print(lm.generate("ROMEO:", length=200, temperature=0.8, seed=1)[0])
        ROMEO:...
        >>> scores = lm.evaluate(open("my_text.txt", encoding="utf-8").read())
        >>> scores["perplexity"] > 1
        True
    """

    @property
    def generator(self):
        """The model's `TextGenerator`, created on first use."""
        from keras_rnn_textgen.generation.plan import boundary_ids
        from keras_rnn_textgen.generation.text_generator import TextGenerator

        if "_generator" not in self.__dict__:
            end_ids = boundary_ids(self.tokenizer, self.train_config.documents)
            self.__dict__["_generator"] = TextGenerator(self.model, self.tokenizer, end_ids)
        return self.__dict__["_generator"]

    def generate(self, prompt: str = "", length: int | None = None, **options) -> list[str]:
        """Generates text; `config=` and the options are `GenerationConfig`'s.

        See `TextGenerator.generate`.
        """
        return self.generator.generate(prompt, length, **options)

    def generate_samples(self, prompt: str = "", length: int | None = None, **options) -> list:
        """`generate`'s texts as `Sample`s, with their tokens and log-probabilities.

        See `TextGenerator.generate_samples`.
        """
        return self.generator.generate_samples(prompt, length, **options)

    def check_copies(
        self, samples: Sequence, corpus: Sequence[str | os.PathLike] = (), **options
    ) -> list:
        """`samples` (`Sample`s) with the longest run of each found verbatim in the training text.

        The training corpus recorded in the folder is read, or `corpus` when
        given; the first check indexes it (cached). See `copies.CopyIndex`.

        Example:
            >>> sample = lm.check_copies(lm.generate_samples("ROMEO:", 200, seed=1))[0]
            >>> sample.longest_copy.chars, sample.longest_copy.offset
            (17, 52311)
        """
        from keras_rnn_textgen.generation.copies import CopyIndex

        return CopyIndex.of_folder(self.folder, corpus, **options).check(samples)

    def evaluate(self, text: str, batch_size: int = 64) -> dict[str, float]:
        """Perplexity and bits per character of `text`; see `evaluate_text`."""
        from keras_rnn_textgen.data.corpus import as_documents
        from keras_rnn_textgen.evaluation.scoring import evaluate_text

        text = as_documents(text, self.train_config.documents)  # as `fit` read its text
        return evaluate_text(
            self.model, self.tokenizer, text, self.train_config.seq_len, batch_size
        )

    def evaluate_corpus(
        self,
        paths: Sequence[str | os.PathLike],
        encoding: str = "utf-8",
        errors: str = "strict",
        batch_size: int = 64,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> dict[str, float]:
        """`evaluate` of text files of any size, read as `fit` reads a corpus, in bounded memory.

        The files are prepared once (`data.prepare`: tokenized as a stream,
        cached) and measured window by window, read from disk.

        Args:
            paths: text files and folders of them.
            encoding: their text encoding.
            errors: `"strict"` or `"replace"` for undecodable bytes.
            batch_size: windows per batch.
            progress: called with a stage (`"reading"`, `"tokenizing"`,
                `"evaluating"`), the work done and the work in all.

        Example:
            >>> lm.evaluate_corpus(["held_out/"])["bits_per_char"]
            2.13
        """
        from keras_rnn_textgen.data.prepare import CorpusSource, prepare_ids
        from keras_rnn_textgen.evaluation.scoring import evaluate_ids

        source = CorpusSource.of(paths, encoding, errors, self.train_config.documents)
        prepared = prepare_ids(source, self.tokenizer, progress=progress)
        windows = (
            None if progress is None else lambda done, total: progress("evaluating", done, total)
        )
        return evaluate_ids(
            self.model,
            self.tokenizer,
            prepared.ids,
            prepared.characters,
            prepared.unknown_tokens,
            self.train_config.seq_len,
            batch_size,
            windows,
        )

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        """Log-probability, token count and perplexity of each text; see `score_texts`."""
        from keras_rnn_textgen.evaluation.scoring import score_texts

        return score_texts(self.model, self.tokenizer, texts)

    def export(self, **options):
        """Writes `<folder>/export/` (SavedModel, TFLite); see `export.export_model`.

        Example:
            >>> [r.name for r in lm.export(quantize=["none", "dynamic"]).reports]
            ['saved_model', 'tflite none', 'tflite dynamic']
        """
        from keras_rnn_textgen.export.artifacts import export_model

        return export_model(self, **options)


def load(folder: str | os.PathLike, training: TrainConfig | None = None) -> TrainedModel:
    """Loads a model folder written by `fit`; see `read_model_folder` for what is checked.

    Args:
        folder: the model folder, e.g. `saved_models/gru-2x256`.
        training: when resuming, the run's settings for the rebuilt model; None: inference.

    Example:
        >>> lm = load("saved_models/gru-2x256")
    """
    return read_model_folder(folder, training, kind=TrainedModel)
