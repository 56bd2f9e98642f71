"""Calls the `generate` and `score` signatures of a word or subword SavedModel in a fresh process.

    python tests/word_savedmodel_client.py REQUEST.json

REQUEST.json: `{"saved_model": dir, "prompts": [...], "num_tokens": int, "texts": [...],
"out": file.json}`. Imports only tensorflow, tensorflow_text and numpy (never
this package), and records whether loading failed before `import tensorflow_text`.
"""

import json
import sys

import numpy as np
import tensorflow as tf


def main() -> None:
    request = json.loads(open(sys.argv[1], encoding="utf-8").read())
    result = {}
    try:
        tf.saved_model.load(request["saved_model"])
        result["loads_without_tensorflow_text"] = True
    except Exception as e:  # the tensorflow-text ops are not registered yet
        result["loads_without_tensorflow_text"] = False
        result["error_without_tensorflow_text"] = str(e).splitlines()[0][:300]

    import tensorflow_text  # noqa: F401  (registers the ops `generate` and `score` use)

    loaded = tf.saved_model.load(request["saved_model"])
    generate, score = loaded.signatures["generate"], loaded.signatures["score"]
    out = generate(
        prompts=tf.constant(request["prompts"]),
        num_tokens=tf.constant(request["num_tokens"], tf.int32),
        temperature=tf.constant(0.0),  # greedy
        top_k=tf.constant(0),
        seed=tf.constant(1, tf.int64),
    )
    result["text"] = [t.decode("utf-8") for t in out["text"].numpy()]
    result["generated"] = [t.decode("utf-8") for t in out["generated"].numpy()]
    scores = score(texts=tf.constant(request["texts"]))
    result["log_prob"] = np.asarray(scores["log_prob"]).tolist()
    result["tokens"] = np.asarray(scores["tokens"]).tolist()
    result["package_imported"] = "keras_rnn_textgen" in sys.modules
    with open(request["out"], "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
