"""The exported SavedModel's signatures: serving_default, step, generate and score."""

from collections.abc import Sequence
from typing import Any

import keras
import tensorflow as tf

from keras_rnn_textgen import __version__
from keras_rnn_textgen.evaluation.scoring import text_log_probs
from keras_rnn_textgen.generation.plan import start_text
from keras_rnn_textgen.models.step import StepModel
from keras_rnn_textgen.models.structure import check_vocabulary
from keras_rnn_textgen.sampling.export import SignatureSampler
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.ids import PAD_ID

SIGNATURES = ("serving_default", "step", "generate", "score")
# 2: the `generate` signature's input `num_chars` is named `num_tokens`.
EXPORT_FORMAT_VERSION = 2


class ExportSignatures:
    """The exported functions, built on the model's cells (`StepModel`).

    At word and subword level `generate` and `score` tokenize with
    tensorflow-text ops: loading the SavedModel then needs
    `import tensorflow_text` first; `serving_default` and `step` work on ids
    and never do.

    Args:
        model: a text model of any layer names (`structure.FAMILY`), such as
            `build_model` makes.
        tokenizer: its tokenizer; its `vocab_size` must be the model's.
        end_ids: ids that end every `generate` row (the boundary token of a
            `documents="lines"` model).

    Example:
        >>> sigs = ExportSignatures(lm.model, lm.tokenizer)
        >>> sigs.serving_default(tf.constant([[5, 6, 7]]))["logits"].shape   # (1, 3, vocab)
    """

    def __init__(self, model: keras.Model, tokenizer: Tokenizer, end_ids: Sequence[int] = ()):
        self.model = model
        self.tokenizer = tokenizer
        self.end_ids = tuple(end_ids)
        self.step_model = StepModel(model)
        self.state_names = self.step_model.state_names
        self.state_units = self.step_model.state_units
        self.vocab_size = tokenizer.vocab_size
        check_vocabulary(self.step_model.layers, tokenizer)
        self.start_text = start_text(tokenizer)

    def input_signatures(self, step_batch: int | None = None) -> dict[str, list[tf.TensorSpec]]:
        """Named input specs of each signature; `step_batch=1` for TFLite."""
        states = zip(self.state_names, self.state_units)
        return {
            "serving_default": [tf.TensorSpec([None, None], tf.int32, name="token_ids")],
            "step": [
                tf.TensorSpec([step_batch, 1], tf.int32, name="token"),
                *(tf.TensorSpec([step_batch, u], tf.float32, name=n) for n, u in states),
            ],
            "generate": [
                tf.TensorSpec([None], tf.string, name="prompts"),
                tf.TensorSpec([], tf.int32, name="num_tokens"),
                tf.TensorSpec([], tf.float32, name="temperature"),
                tf.TensorSpec([], tf.int32, name="top_k"),
                tf.TensorSpec([], tf.int64, name="seed"),
            ],
            "score": [tf.TensorSpec([None], tf.string, name="texts")],
        }

    def logits(self, token_ids: tf.Tensor) -> tf.Tensor:
        """`(batch, time)` ids -> `(batch, time, vocab)` logits, from zero states."""
        batch, time = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
        states = self.step_model.initial_states(batch)
        steps = tf.TensorArray(tf.float32, size=time, element_shape=[None, self.vocab_size])

        def body(t, states, steps):
            logits, states = self.step_model(token_ids[:, t], states)  # (batch, vocab)
            return t + 1, states, steps.write(t, logits)

        _, _, steps = tf.while_loop(lambda t, *_: t < time, body, (0, states, steps))
        # An empty TensorArray cannot stack to a shape it does not know.
        stacked = tf.cond(
            time > 0, steps.stack, lambda: tf.zeros([0, batch, self.vocab_size])
        )  # (time, batch, vocab)
        return tf.transpose(stacked, [1, 0, 2])  # (batch, time, vocab)

    def serving_default(self, token_ids: tf.Tensor) -> dict[str, tf.Tensor]:
        """Logits of every position: `{"logits": (batch, time, vocab)}`."""
        return {"logits": self.logits(token_ids)}

    def step(self, token: tf.Tensor, *states: tf.Tensor) -> dict[str, tf.Tensor]:
        """One step: token `(batch, 1)` and the states -> logits and the new states by name."""
        logits, new_states = self.step_model(token[:, 0], list(states))
        return {"logits": logits, **dict(zip(self.state_names, new_states))}

    def generate(
        self,
        prompts: tf.Tensor,
        num_tokens: tf.Tensor,
        temperature: tf.Tensor,
        top_k: tf.Tensor,
        seed: tf.Tensor,
    ) -> dict[str, tf.Tensor]:
        """Prompts `(batch,)` -> `text` (prompt + new tokens' text) and `generated` `(batch,)`.

        `num_tokens` counts new tokens: characters, words or subword pieces.
        """
        check = tf.debugging.assert_non_negative(num_tokens, message="num_tokens must be >= 0")
        with tf.control_dependencies([check]):
            num_tokens = tf.identity(num_tokens)
        # An empty prompt stands for `start_text`, as in `TextGenerator`.
        conditioned = tf.where(tf.strings.length(prompts) == 0, self.start_text, prompts)
        ids = self.tokenizer.tokenize(conditioned)  # (batch, None) ragged
        initial = self.step_model.initial_states(tf.shape(prompts)[0])
        sampler = SignatureSampler(temperature, top_k)
        sampler.banned_ids = self.tokenizer.special_ids
        new_ids = sampler(
            self.step_model,
            initial,
            ids.to_tensor(PAD_ID),
            ids.row_lengths(),
            num_tokens,
            seed,
            stop_ids=self.end_ids,
        )  # (batch, num_tokens)
        # The new text as it joins the prompt (at word level: a space, or none before `,`).
        text = self.tokenizer.append(prompts, new_ids)
        prompt_bytes = tf.strings.length(prompts)
        generated = tf.strings.substr(text, prompt_bytes, tf.strings.length(text) - prompt_bytes)
        return {"text": text, "generated": generated}

    def score(self, texts: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each string's `log_prob` (nats), `tokens` and `perplexity`, as `score_texts`."""
        log_prob, tokens = text_log_probs(self.logits, self.tokenizer, texts)
        perplexity = tf.exp(-log_prob / tf.cast(tokens, log_prob.dtype))  # NaN when empty
        return {"log_prob": log_prob, "tokens": tokens, "perplexity": perplexity}

    def archive(self, names: Sequence[str] = SIGNATURES, step_batch: int | None = None):
        """A `keras.export.ExportArchive` holding the model's weights and the named signatures."""
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        specs = self.input_signatures(step_batch)
        for name in names:
            archive.add_endpoint(name, getattr(self, name), specs[name])
        return archive

    def metadata(self) -> dict[str, Any]:
        """The sidecar `tokenizer.json`: what an app needs to tokenize, carry state and sample.

        `cell` and `units` describe every layer when they are alike (as in
        every model `fit` trains); otherwise they are `"mixed"` and null, and
        `layer_cells` / `layer_units` (always present) say each layer's.
        """
        vocabulary = self.tokenizer.vocabulary
        parts = self.step_model.layers
        cells = parts.kinds
        units = [rnn.cell.units for rnn in parts.rnns]
        states = dict(zip(self.state_names, self.state_units))
        # char: the code points; word/subword: how to split text and join tokens back.
        tokenizer = self.tokenizer.file_config()
        if self.tokenizer.level == "char":
            tokenizer["codepoints"] = [ord(c) for c in vocabulary]
        return {
            "export_format_version": EXPORT_FORMAT_VERSION,
            "package_version": __version__,
            "tensorflow_version": tf.__version__,
            **tokenizer,
            "vocab_size": self.vocab_size,
            "pad_id": PAD_ID,
            "unk_id": self.tokenizer.unk_id,
            "first_char_id": self.tokenizer.first_id,
            "banned_ids": list(self.tokenizer.special_ids),
            "start_text": self.start_text,
            "start_id": int(self.tokenizer.tokenize(self.start_text)[0]),
            "end_ids": list(self.end_ids),
            "cell": cells[0] if len(set(cells)) == 1 else "mixed",
            "layers": len(cells),
            "units": units[0] if len(set(units)) == 1 else None,
            "layer_cells": cells,
            "layer_units": units,
            "embedding_dim": int(parts.embedding.output_dim),
            "signature": "step",
            "state_names": self.state_names,
            "inputs": {
                "token": {"shape": [1, 1], "dtype": "int32"},
                **{n: {"shape": [1, u], "dtype": "float32"} for n, u in states.items()},
            },
            "outputs": {
                "logits": {"shape": [1, self.vocab_size], "dtype": "float32"},
                **{n: {"shape": [1, u], "dtype": "float32"} for n, u in states.items()},
            },
        }
