"""Calls every signature of exported SavedModels, as TF code without this package would.

    python tests/savedmodel_client.py REQUEST.json

REQUEST.json: `{"models": {key: saved_model_dir}, "token_ids": [[...]], "prompts": [...],
"sample_prompt": str, "texts": [...], "num_tokens": int, "out": dir}`.
Writes `<out>/<key>.npz` per model.
Imports only tensorflow and numpy, and fails if this package was imported.
"""

import json
import pathlib
import sys

import numpy as np
import tensorflow as tf


def call_signatures(path: str, request: dict) -> dict[str, np.ndarray]:
    loaded = tf.saved_model.load(path)
    serving = loaded.signatures["serving_default"]
    step = loaded.signatures["step"]
    generate = loaded.signatures["generate"]
    score = loaded.signatures["score"]
    ids = np.array(request["token_ids"], np.int32)  # (batch, time)
    out = {"serving_logits": serving(token_ids=tf.constant(ids))["logits"].numpy()}

    # Teacher-forced through `step`, feeding the new states back by name.
    state_names = sorted(set(step.structured_input_signature[1]) - {"token"})
    units = step.structured_input_signature[1][state_names[0]].shape[-1]
    states = {n: tf.zeros([len(ids), units]) for n in state_names}
    rows = []
    for t in range(ids.shape[1]):
        result = step(token=tf.constant(ids[:, t : t + 1]), **states)
        rows.append(result["logits"].numpy())
        states = {n: result[n] for n in state_names}
    out["step_logits"] = np.stack(rows, axis=1)  # (batch, time, vocab)

    def texts(prompts, temperature: float, top_k: int, seed: int, key: str = "text"):
        result = generate(
            prompts=tf.constant(prompts),
            num_tokens=tf.constant(request["num_tokens"], tf.int32),
            temperature=tf.constant(temperature, tf.float32),
            top_k=tf.constant(top_k, tf.int32),
            seed=tf.constant(seed, tf.int64),
        )
        return np.array([t.decode("utf-8") for t in result[key].numpy()])

    prompts, sample = request["prompts"], [request["sample_prompt"]] * 2
    out["greedy"] = texts(prompts, 0.0, 0, 1)
    out["greedy_other_seed"] = texts(prompts, 0.0, 0, 2)
    out["greedy_generated"] = texts(prompts, 0.0, 0, 1, key="generated")
    out["sampled"] = texts(sample, 0.8, 0, 7)
    out["sampled_again"] = texts(sample, 0.8, 0, 7)
    out["sampled_other_seed"] = texts(sample, 0.8, 0, 8)
    out["sampled_top_k"] = texts(sample, 1.0, 3, 7)
    scores = score(texts=tf.constant(request["texts"]))
    for name in ("log_prob", "tokens", "perplexity"):
        out[f"score_{name}"] = scores[name].numpy()
    return out


def main() -> None:
    request = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
    out = pathlib.Path(request["out"])
    for key, path in request["models"].items():
        np.savez(out / f"{key}.npz", **call_signatures(path, request))
    assert "keras_rnn_textgen" not in sys.modules, "the package was imported"
    print("client ok")


if __name__ == "__main__":
    main()
