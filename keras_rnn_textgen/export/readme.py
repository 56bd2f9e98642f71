"""The `README.txt` of an export folder: how to load each file, and what goes in and out."""

from collections.abc import Sequence
from typing import Any

README_FILE = "README.txt"


def _states(metadata: dict[str, Any], batch: str) -> str:
    shapes = metadata["inputs"]
    return ", ".join(f"{n} [{batch}, {shapes[n]['shape'][-1]}]" for n in metadata["state_names"])


def _saved_model(metadata: dict[str, Any]) -> list[str]:
    needs_text_ops = metadata.get("level", "char") != "char"
    lines = [
        "saved_model/  a TensorFlow SavedModel; plain TensorFlow loads it, no other package:",
        "",
        "    import tensorflow as tf",
    ]
    if needs_text_ops:
        lines.append("    import tensorflow_text  # generate and score tokenize words with it")
    vocab, states = metadata["vocab_size"], _states(metadata, "batch")
    lines += [
        '    model = tf.saved_model.load("saved_model")',
        '    out = model.signatures["generate"](prompts=tf.constant(["Hello"]),',
        "        num_tokens=tf.constant(100), temperature=tf.constant(0.8),",
        "        top_k=tf.constant(0), seed=tf.constant(1, tf.int64))",
        '    print(out["text"][0].numpy().decode())',
        "",
        "  Signatures (inputs -> outputs):",
        f"    serving_default  token_ids int32 [batch, time] -> logits float32 "
        f"[batch, time, {vocab}]",
        f"    step             token int32 [batch, 1], {states} (float32, zeros to start)",
        f"                     -> logits [batch, {vocab}] and the new states, same names",
        "    generate         prompts string [batch], num_tokens int32, temperature float32",
        "                     (<= 0: greedy), top_k int32 (0: off), seed int64",
        "                     -> text (prompt + new text) and generated (new text) string [batch]",
        "    score            texts string [batch] -> log_prob (nats), tokens, perplexity",
        "",
        "  TF Serving: copy saved_model/ to <models>/<name>/1/ and serve <models>/<name>;",
        "  saved_model_cli run --dir saved_model --tag_set serve --signature_def",
        "  serving_default --input_exprs 'token_ids=[[5,6,7]]' tries it from a shell.",
    ]
    if needs_text_ops:
        lines.append("  (generate and score need tensorflow-text's ops in the server.)")
    return lines


def _tflite(metadata: dict[str, Any], names: Sequence[str]) -> list[str]:
    files = ", ".join(n for n in names if n.endswith(".tflite"))
    vocab, states = metadata["vocab_size"], _states(metadata, "1")
    special = metadata.get("banned_ids", [])
    return [
        f"{files}  LiteRT (TFLite) flatbuffers,",
        "  builtin ops only (CPU, GPU delegate, Android, iOS); model.tflite is float32,",
        "  model_<mode>.tflite quantized.",
        "  One signature, step, at batch 1:",
        f"    inputs   token int32 [1, 1], {states} (float32, zeros to start)",
        f"    outputs  logits float32 [1, {vocab}] and the new states under the same names",
        "  Tokenizing, carrying the states and sampling are the app's, with tokenizer.json:",
        "",
        "    from ai_edge_litert.interpreter import Interpreter",
        '    step = Interpreter(model_path="model.tflite").get_signature_runner("step")',
        "",
        f"  Never sample the ids {special} (padding, unknown).",
    ]


def export_readme(metadata: dict[str, Any], names: Sequence[str]) -> str:
    """The text of an export folder's `README.txt`.

    Args:
        metadata: the sidecar (`ExportSignatures.metadata`).
        names: the files and folders the export folder holds.

    Example:
        >>> print(export_readme(signatures.metadata(), ["saved_model", "model.tflite"]))
    """
    level = metadata.get("level", "char")
    cells = "/".join(dict.fromkeys(metadata.get("layer_cells") or [metadata["cell"]]))
    lines = [
        f"A {metadata['layers']}-layer {cells} text model at {level} level, "
        f"{metadata['vocab_size']} token ids, exported by keras-rnn-textgen "
        f"{metadata['package_version']} (TensorFlow {metadata['tensorflow_version']}).",
        "",
    ]
    if "saved_model" in names:
        lines += _saved_model(metadata) + [""]
    if any(n.endswith(".tflite") for n in names):
        lines += _tflite(metadata, names) + [""]
    lines += [
        "tokenizer.json  what an app needs: the vocabulary (`vocabulary`; at char level also",
        "  `codepoints`), the id of vocabulary[0] (`first_char_id`), `unk_id`, `pad_id`,",
        "  `banned_ids`, `start_id` (what an empty prompt starts from), `end_ids`, and the",
        "  step signature's `state_names`, `inputs` and `outputs` with their shapes.",
    ]
    return "\n".join(lines) + "\n"
