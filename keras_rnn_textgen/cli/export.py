"""`export`: SavedModel and TFLite files, compared with Keras."""

import click

from keras_rnn_textgen.cli.common import (
    MODEL_HELP,
    TensorFlowCommand,
    interrupts_end_process,
    model_or_latest,
    quiet_native_stderr,
    user_errors,
)
from keras_rnn_textgen.config import QUANTIZE_MODES


@click.command(cls=TensorFlowCommand)
@click.option("--model", "model_dir", type=click.Path(), help=MODEL_HELP)
@click.option(
    "--saved-model",
    is_flag=True,
    help="Write export/saved_model/ (and tokenizer.json, README.txt) only: no TFLite file.",
)
@click.option(
    "--tflite",
    is_flag=True,
    help="Write export/saved_model/ and the TFLite files of --quantize, converted from the "
    "same step graph (and tokenizer.json, README.txt).",
)
@click.option(
    "--quantize",
    multiple=True,
    type=click.Choice(QUANTIZE_MODES),
    help="TFLite variant (repeatable): none is model.tflite (float32), the others "
    "model_<mode>.tflite. Default: none.",
)
@click.option(
    "--corpus",
    type=click.Path(),
    help="Held-out and int8 calibration text. Default: the folder's validation_sample.txt.",
)
@click.option(
    "--eval-tokens",
    type=int,
    default=5000,
    show_default=True,
    help="Tokens of held-out text measured: characters, or words / pieces of a word / "
    "subword model.",
)
# The former name of --eval-tokens, which it counted too.
@click.option("--eval-chars", type=int, hidden=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def export(ctx, model_dir, saved_model, tflite, quantize, corpus, eval_tokens, eval_chars, as_json):
    """Export to a SavedModel and TFLite and compare them with Keras.

    Writes into the model folder's export/: saved_model/ (plain TensorFlow and
    TF Serving load it), model.tflite and model_<mode>.tflite (LiteRT, one
    per --quantize mode), tokenizer.json (the vocabulary and state names an
    app needs) and README.txt (how to load each). Without --saved-model or
    --tflite it writes everything; --saved-model alone skips the TFLite files.
    """
    with user_errors(ctx), interrupts_end_process():
        if eval_chars is not None:
            if ctx.get_parameter_source("eval_tokens") is not click.core.ParameterSource.DEFAULT:
                raise ValueError("give --eval-tokens or --eval-chars (its old name), not both")
            eval_tokens = eval_chars
        from keras_rnn_textgen.export.artifacts import export_model
        from keras_rnn_textgen.saving.files import json_text

        if quantize and saved_model and not tflite:
            raise ValueError("--quantize chooses TFLite files: add --tflite or drop --saved-model")
        # Every export has the SavedModel; only --saved-model alone leaves TFLite out.
        tflite = tflite or not saved_model
        saved_model = True
        model_dir = model_or_latest(model_dir)
        with quiet_native_stderr(ctx.obj["verbose"]):
            result = export_model(
                model_dir,
                saved_model=saved_model,
                tflite=tflite,
                quantize=quantize or ("none",),
                corpus=corpus,
                eval_tokens=eval_tokens,
            )
        rows = [
            {
                "artifact": r.name,
                "path": str(r.path),
                "size_bytes": r.size_bytes,
                "top1_agreement": r.top1_agreement,
                "perplexity": r.perplexity,
                "keras_perplexity": r.keras_perplexity,
                "perplexity_change": r.perplexity_change,
                "max_abs_logit_diff": r.max_abs_logit_diff,
            }
            for r in result.reports
        ]
        if as_json:
            click.echo(
                json_text(
                    {
                        "folder": str(result.folder),
                        "files": [str(f) for f in result.files],
                        "eval_tokens": result.eval_tokens,
                        "held_out": result.held_out,
                        "artifacts": rows,
                    }
                )
            )
            return
        click.echo(
            f"held-out text: {result.eval_tokens} tokens of {result.held_out}, Keras perplexity "
            f"{rows[0]['keras_perplexity']:.4f}"
        )
        click.echo(
            f"{'artifact':<16}{'size':>10}  {'top-1 agreement':>15}  {'perplexity':>10}  change"
        )
        for row in rows:
            click.echo(
                f"{row['artifact']:<16}{row['size_bytes'] / 1024:>8.1f}KB  "
                f"{row['top1_agreement']:>15.2%}  {row['perplexity']:>10.4f}  "
                f"{row['perplexity_change']:+.3%}"
            )
        for path in result.files:
            click.echo(f"wrote {path}")
