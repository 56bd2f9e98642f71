"""The report's copy check: the longest run of each training sample found in the training text."""

from collections.abc import Callable, Sequence

from keras_rnn_textgen.generation.copies import CopyIndex
from keras_rnn_textgen.saving.loading import ModelFolder
from keras_rnn_textgen.saving.run_logs import Sample as RunSample

CopyLine = Callable[[RunSample], str]


def copy_lines(lm: ModelFolder, corpus: Sequence[str] = ()) -> tuple[CopyLine | None, str]:
    """The line under each training sample telling its longest copy, and a note for the page.

    The training corpus recorded in the folder is indexed as `generate
    --check-copies` indexes it (once, cached), or the files of `corpus` when
    given. Where it is not found or has changed, there are no lines (None)
    and the note says why: the page is written all the same.

    Example:
        >>> line, note = copy_lines(read_model_folder("saved_models/gru-2x256"))
        >>> line(read_samples(folder / "samples.txt")[0])
        'longest copy of the training text: 12 characters at offset 3051: " the king, "'
    """
    try:
        index = CopyIndex.of_folder(lm.folder, corpus)
    except (ValueError, OSError) as e:  # CorpusError, ModelFolderError, an unreadable file
        return None, f"The longest copies of the training text are not shown: {e}."
    prompt = lm.train_config.sample_prompt

    def line(sample: RunSample) -> str:
        # The prompt is not the model's text: only what it generated is searched.
        new = sample.text.removeprefix(prompt)
        copy = index.copy_of_ids(lm.tokenizer.encode(new).numpy() if new else [])
        return f"longest copy of the training text: {copy.describe()}"

    note = (
        "Under each sample: the longest run of its generated text found verbatim in the text "
        "the model trained on, with its offset there (generate --check-copies)."
    )
    return line, note
