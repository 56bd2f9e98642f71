"""Perplexity of a text and log-probabilities of texts under a trained model."""

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn_textgen.data.windows import evaluation_dataset
from keras_rnn_textgen.generation.plan import start_text
from keras_rnn_textgen.models.metrics import BitsPerToken, Perplexity
from keras_rnn_textgen.models.structure import check_vocabulary, text_model_layers
from keras_rnn_textgen.tokenizers.base import Tokenizer
from keras_rnn_textgen.tokenizers.ids import PAD_ID


def evaluate_text(
    model: keras.Model, tokenizer: Tokenizer, text: str, seq_len: int, batch_size: int = 64
) -> dict[str, float]:
    """Perplexity per token and bits per character of `text`, measured as validation is in `fit`.

    The text is cut into the same non-overlapping windows of `seq_len`
    tokens, each read from a zero state, so the figures of `fit`'s
    validation text and of `evaluate` on that text agree. Perplexity is per
    token of the model's level (character, word or WordPiece piece); bits per
    character are the total negative log-likelihood in bits over the
    characters those tokens cover (the predicted tokens times the text's
    characters per token), so models of every level compare on one scale.
    At char level the two per-token and per-character figures coincide.

    Args:
        model: the language model, of any layer names (`structure.FAMILY`),
            with a logits or a softmax output.
        tokenizer: its tokenizer.
        text: the text to measure.
        seq_len: window length (the model's training `seq_len`; shortened to
            fit a short text).
        batch_size: windows per batch.

    Returns:
        `perplexity` (per token), `bits_per_char`, `bits_per_token`, `loss`
        (nats per token), `tokens` (tokens predicted), `characters` (the
        characters they cover) and `unknown_tokens` (tokens of `text` outside
        the vocabulary: characters at char level, `[UNK]` words otherwise).

    Example:
        >>> scores = evaluate_text(model, tokenizer, "To be, or not to be", seq_len=100)
        >>> sorted(scores)
        ['bits_per_char', 'bits_per_token', 'characters', 'loss', 'perplexity', 'tokens',
         'unknown_tokens']
        >>> scores["tokens"], scores["characters"]
        (18, 18)
    """
    ids = tokenizer.encode(text).numpy()
    unknown = int(np.count_nonzero(ids == tokenizer.unk_id))
    return evaluate_ids(model, tokenizer, ids, len(text), unknown, seq_len, batch_size)


def evaluate_ids(
    model: keras.Model,
    tokenizer: Tokenizer,
    ids: np.ndarray,
    characters: int,
    unknown_tokens: int,
    seq_len: int,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, float]:
    """`evaluate_text` of a text already tokenized: its ids may be an `IdFile` of any size.

    The windows are read batch by batch, so memory does not grow with the text.

    Args:
        model: the language model.
        tokenizer: its tokenizer (for the vocabulary check and the level).
        ids: the text's token ids, `(tokens,)`.
        characters: characters of the text.
        unknown_tokens: ids of the text that are the unknown id.
        seq_len: window length.
        batch_size: windows per batch.
        progress: called with the windows done and the windows in all.

    Example:
        >>> prepared = prepare_ids(CorpusSource.of(["book.txt"]), tokenizer)
        >>> evaluate_ids(model, tokenizer, prepared.ids, prepared.characters,
        ...              prepared.unknown_tokens, seq_len=100)["perplexity"]
        4.61
    """
    n = int(ids.shape[0])
    if n < 2:
        unit = "characters" if tokenizer.level == "char" else f"{tokenizer.level} tokens"
        raise ValueError(f"text to evaluate needs at least 2 {unit}, got {n}")
    seq_len = min(seq_len, n - 1)
    perplexity, bits = Perplexity(), BitsPerToken()
    layers = text_model_layers(model)
    check_vocabulary(layers, tokenizer)
    predict = tf.function(lambda x: layers.logits(x))
    windows, done = (n - 1) // seq_len, 0
    for x, y in evaluation_dataset(ids, seq_len, batch_size):
        logits = predict(x)  # (batch, time, vocab)
        perplexity.update_state(y, logits)
        bits.update_state(y, logits)
        done += int(x.shape[0])
        if progress is not None:
            progress(done, windows)
    tokens = float(perplexity.total_tokens)
    covered = tokens * characters / n  # exact at char level, where characters == n
    return {
        "perplexity": float(perplexity.result()),
        "bits_per_char": float(perplexity.total_nll) / math.log(2.0) / covered,
        "bits_per_token": float(bits.result()),
        "loss": float(perplexity.mean_nll()),
        "tokens": int(tokens),
        "characters": round(covered),
        "unknown_tokens": unknown_tokens,
    }


def text_log_probs(
    logits_fn: Callable[[tf.Tensor], tf.Tensor], tokenizer: Tokenizer, texts: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Total log-probability (nats) and token count of each string, in TF ops only.

    Each string is read as if it followed a line break (as generation does
    from an empty prompt): `log P(W) = sum_t log p(w_t | start, w_<t)`. Runs
    inside a `tf.function`, so exported graphs score strings the same way.

    Args:
        logits_fn: `(batch, time)` ids -> `(batch, time, vocab)` logits.
        tokenizer: the model's tokenizer.
        texts: `(batch,)` strings.

    Returns:
        `log_prob` `(batch,)` float32 and `tokens` `(batch,)` int32.

    Example:
        >>> text_log_probs(lambda x: model(x), tokenizer, tf.constant(["To be", "or"]))
    """
    start = tokenizer.tokenize(start_text(tokenizer))[:1]
    ids = tokenizer.tokenize(texts)  # (batch, None) ragged
    starts = tf.RaggedTensor.from_tensor(tf.tile(start[None], [ids.nrows(tf.int32), 1]))
    inputs = tf.concat([starts, ids[:, :-1]], axis=1).to_tensor(PAD_ID)  # (batch, time)
    targets = ids.to_tensor(PAD_ID)  # (batch, time'); time' = time - 1 if all are empty
    logits = logits_fn(inputs)[:, : tf.shape(targets)[1]]  # (batch, time', vocab)
    log_probs = tf.gather(tf.nn.log_softmax(logits), targets, batch_dims=2)
    mask = tf.sequence_mask(ids.row_lengths(), tf.shape(targets)[1], log_probs.dtype)
    return tf.reduce_sum(log_probs * mask, axis=1), tf.cast(ids.row_lengths(), tf.int32)


def score_texts(
    model: keras.Model, tokenizer: Tokenizer, texts: list[str]
) -> list[dict[str, float]]:
    """The probability the model gives each whole string, P(W), and its perplexity PP(W).

    Each string is read as if it followed a line break (as generation does
    from an empty prompt): `log P(W) = sum_t log p(w_t | start, w_<t)`.

    Returns one dict per text: `log_prob` (nats), `tokens` and `perplexity`
    `exp(-log_prob / tokens)` (NaN for an empty string).

    Example:
        >>> scores = score_texts(model, tokenizer, ["To be, or not to be", "be be to or"])
        >>> [s["tokens"] for s in scores]
        [19, 11]
    """
    layers = text_model_layers(model)
    check_vocabulary(layers, tokenizer)
    if not any(texts):
        return [{"log_prob": 0.0, "tokens": 0, "perplexity": float("nan")} for _ in texts]
    totals, counts = text_log_probs(layers.logits, tokenizer, tf.constant(texts))
    return [
        {
            "log_prob": float(total),
            "tokens": int(count),
            "perplexity": math.exp(-total / count) if count else float("nan"),
        }
        for total, count in zip(totals.numpy(), counts.numpy())
    ]
