"""The NumPy twins of `sampling.draws`, which give the same draws for a seed."""

import numpy as np

# The counter-based generator, bit for bit as `sampling.draws.uniform_draws`.
MASK32 = 0xFFFFFFFF
MULTIPLIER = 0x45D9F3B
SEED_SALT = 0x9E3779B9
ROW_SALT = 0x632BE5AB


def _mix32(x: np.ndarray) -> np.ndarray:
    for _ in range(2):
        x = x ^ (x >> 16)
        x = (x * MULTIPLIER) & MASK32
    return x ^ (x >> 16)


def uniform_draws(seed: int, index: int, batch: int) -> np.ndarray:
    """`(batch,)` float32 numbers in [0, 1), a hash of (seed, step index, row).

    Bit for bit `sampling.draws.uniform_draws`.

    Example:
        >>> uniform_draws(1, 0, 2)   # (2,) in [0, 1)
    """
    seed, index = np.int64(seed & MASK32), np.int64(index & MASK32)
    rows = np.arange(batch, dtype=np.int64)
    x = _mix32(_mix32(seed ^ SEED_SALT) ^ index)
    x = _mix32(x ^ _mix32(rows + ROW_SALT))
    return (x >> 8).astype(np.float32) * np.float32(2.0**-24)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def draw(logits: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Samples `(batch,)` ids from `(batch, vocab)` logits by inverse CDF, as `draws.draw`."""
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cdf = np.cumsum(weights, axis=-1, dtype=np.float32)
    total = cdf[:, -1:]
    token = np.sum(cdf <= u[:, None] * total, axis=-1)
    last = np.sum(cdf < total, axis=-1)
    return np.minimum(token, last).astype(np.int32)


def penalize_repetition(logits: np.ndarray, seen: np.ndarray, penalty: float) -> np.ndarray:
    """`sampling.draws.penalize_repetition` in NumPy."""
    # A penalty past float32's range is inf, as in TensorFlow: both branches are
    # computed, and the one not taken may divide inf by inf, or overflow.
    with np.errstate(over="ignore", invalid="ignore"):
        penalty = np.float32(penalty)
        penalized = np.where(logits > 0, logits / penalty, logits * penalty)
    return np.where(seen, penalized, logits)


def filter_logits(logits: np.ndarray, temperature: float, top_k: int, top_p: float) -> np.ndarray:
    """`sampling.filter_logits` in NumPy."""
    logits = logits / np.float32(temperature)
    vocab = logits.shape[-1]
    ranked = -np.sort(-logits, axis=-1)  # (batch, vocab), descending
    k = min(top_k, vocab) if top_k > 0 else vocab
    kth = ranked[:, k - 1 : k]
    probs = _softmax(ranked)
    mass_before = np.cumsum(probs, axis=-1, dtype=np.float32) - probs
    mass_before[:, 0] = 0
    keep = mass_before < np.float32(top_p)
    smallest_kept = np.min(np.where(keep, ranked, ranked[:, :1]), axis=-1, keepdims=True)
    threshold = np.maximum(kth, smallest_kept)
    return np.where(logits >= threshold, logits, np.float32(-np.inf))
