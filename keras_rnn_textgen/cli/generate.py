"""`generate`: text from a model folder or a `.tflite` file."""

import contextlib
import json
import pathlib

import click

from keras_rnn_textgen.cli.common import (
    MODEL_HELP,
    interrupts_end_process,
    model_or_latest,
    progress_line,
    quiet_import_tensorflow,
    quiet_native_stderr,
    user_errors,
)
from keras_rnn_textgen.generation_config import GenerationConfig

# The options' defaults are GenerationConfig's.
DEFAULTS = GenerationConfig()


@click.command()
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option(
    "--tflite",
    "tflite_path",
    type=click.Path(),
    help="Run this exported .tflite file (with the tokenizer.json beside it) instead.",
)
@click.option(
    "--step",
    type=click.IntRange(min=0),
    help="Use the weights kept at this training step (fit --keep-every). Default: the "
    "model's last.",
)
@click.option("--prompt", default="", help="Text to continue. Default: none.")
@click.option(
    "--length",
    type=int,
    default=DEFAULTS.length,
    show_default=True,
    help="New tokens per sample: characters, or words / pieces of a word / subword model.",
)
@click.option(
    "--temperature",
    type=float,
    default=DEFAULTS.temperature,
    show_default=True,
    help="Below 1 picks likely tokens more often, above 1 less; it must be positive.",
)
@click.option(
    "--top-k", type=int, default=DEFAULTS.top_k, show_default=True, help="0 turns it off."
)
@click.option(
    "--top-p", type=float, default=DEFAULTS.top_p, show_default=True, help="1 turns it off."
)
@click.option("--greedy", is_flag=True, help="Always take the most likely token.")
@click.option(
    "--num-samples",
    type=int,
    default=DEFAULTS.num_samples,
    show_default=True,
    help="Samples to generate side by side, from the same prompt.",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULTS.seed,
    show_default=True,
    help="The same seed and options give the same text.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse prompt tokens (characters, words) outside the vocabulary.",
)
@click.option(
    "--repetition-penalty",
    type=float,
    default=DEFAULTS.repetition_penalty,
    show_default=True,
    help="Divide (positive) or multiply (negative) the logits of tokens already in the text "
    "by this; 1 turns it off.",
)
@click.option(
    "--stop",
    multiple=True,
    help="End a sample just before this text (repeatable; in bash, $'\\n\\n' is a blank line).",
)
@click.option(
    "--ban",
    multiple=True,
    help="Never generate this token (repeatable): a character, or a word / piece of a word / "
    "subword model, as its vocabulary has it.",
)
@click.option(
    "--beam",
    type=click.IntRange(min=0),
    default=DEFAULTS.beam,
    show_default=True,
    help="Beam search: keep this many hypotheses and print the likeliest; deterministic. A "
    "hypothesis scores the sum of its tokens' log-probabilities (a stop token's included), "
    "not length-normalised, so one that stops early keeps its score; --stop cuts the result "
    "afterwards. It takes no --temperature, --top-k, --top-p, --repetition-penalty or "
    "--greedy, and one sample. 0 turns it off; 1 is greedy.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='One JSON object per sample and line: {"sample": i, "text": ..., "new_tokens": n, '
    '"log_probability": sum of the new tokens\' log-probabilities at temperature 1}.',
)
@click.option(
    "--logprobs",
    is_flag=True,
    help='With --json: also each new token and its log-probability, "logprobs": '
    '[{"token": ..., "logprob": ...}].',
)
@click.option(
    "--check-copies",
    is_flag=True,
    help="Find, for each sample, the longest run of its new text that occurs verbatim in the "
    "training text (the training part of the corpus recorded in the model folder), and give its "
    'length, text and offset: on stderr, or with --json as "longest_copy": {"chars": ..., '
    '"text": ..., "offset": ..., "tokens": ...}. The offset counts tokens of the training text '
    "(characters, for a char model). The first check of a corpus indexes it (kept in the cache).",
)
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(),
    help="With --check-copies: the training text's files or folders (repeatable), when those "
    "recorded in the model folder are not found from here. Default: the recorded ones.",
)
@click.pass_context
def generate(
    ctx, model_dir, tflite_path, step, prompt, as_json, logprobs, check_copies, corpus, **options
):
    """Generate text: stdout carries only the samples, separated by blank lines.

    A sample may hold blank lines itself: scripts split --json's lines instead.
    """
    with user_errors(ctx), interrupts_end_process():
        if model_dir and tflite_path:
            raise ValueError(
                f"give --model or --tflite, not both; got --model {model_dir!r} and "
                f"--tflite {tflite_path!r}"
            )
        if tflite_path and step is not None:
            raise ValueError(
                "--step reads a model folder's step checkpoints; give --model, not --tflite"
            )
        if logprobs and not as_json:
            raise ValueError("--logprobs adds to --json's objects: give --json too")
        if check_copies and tflite_path:
            raise ValueError(
                "--check-copies reads the training corpus a model folder records; give --model, "
                "not --tflite"
            )
        if corpus and not check_copies:
            raise ValueError("--corpus names the text --check-copies searches: give that too")
        config = GenerationConfig(**options)
        if tflite_path:
            from keras_rnn_textgen.export.tflite_runner import TFLiteModel

            with quiet_native_stderr(ctx.obj["verbose"]):
                lite = TFLiteModel(tflite_path)
            if lite.needs_tensorflow:  # a sidecar whose patterns only TensorFlow reads
                quiet_import_tensorflow(ctx.obj["verbose"])
            with quiet_native_stderr(ctx.obj["verbose"]):
                samples = lite.generate_samples(prompt, config=config)
        else:
            model_dir = model_or_latest(model_dir)
            weights = None
            if step is not None:
                from keras_rnn_textgen.saving.steps import step_path

                weights = step_path(pathlib.Path(model_dir), step)
            generator = _folder_generator(ctx, model_dir, config.length, weights)
            samples = generator.generate_samples(prompt, config=config)
            if check_copies:
                samples = _with_copies(ctx, model_dir, corpus, samples, as_json)
        if as_json:
            for i, sample in enumerate(samples):
                click.echo(json.dumps(sample.to_json(i, logprobs), ensure_ascii=False))
        else:
            click.echo("\n\n".join(sample.text for sample in samples))


def _with_copies(ctx: click.Context, model_dir: str, corpus: tuple[str, ...], samples, as_json):
    """`samples` with their longest copies; without --json each is also told on stderr."""
    quiet_import_tensorflow(ctx.obj["verbose"])
    from keras_rnn_textgen.generation.copies import CopyIndex

    samples = CopyIndex.of_folder(model_dir, corpus, progress=progress_line()).check(samples)
    if not as_json:
        for i, sample in enumerate(samples, 1):
            describe = sample.longest_copy.describe()
            click.echo(f"sample {i}: longest copy of the training text: {describe}", err=True)
    return samples


def _folder_generator(
    ctx: click.Context, model_dir: str, length: int, weights: pathlib.Path | None = None
):
    """NumPy for a short text (no TensorFlow start-up), else Keras.

    Both give the same text for a seed. `weights`: a step checkpoint to run instead.
    """
    from keras_rnn_textgen.generation.numpy_model import (
        NUMPY_MAX_TOKENS,
        NotForNumpy,
        NumpyModel,
    )

    if length <= NUMPY_MAX_TOKENS:
        with contextlib.suppress(NotForNumpy):  # another layout, or a problem `load` names
            return NumpyModel(model_dir, weights)
    quiet_import_tensorflow(ctx.obj["verbose"])
    from keras_rnn_textgen.trained_model import load

    lm = load(model_dir)
    if weights is not None:
        from keras_rnn_textgen.saving.step_weights import load_step_weights

        load_step_weights(lm.model, weights)
    return lm
