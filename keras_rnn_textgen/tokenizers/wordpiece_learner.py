"""tensorflow-text's WordPiece learner, its counting done with arrays: the same vocabulary, faster.

`wordpiece_tokenizer_learner_lib.learn` (the learner behind
`bert_vocab_from_dataset`) searches for the count threshold that gives the
vocabulary size asked for. At each threshold it runs a few rounds, each
counting every substring of every word in Python dictionaries, which made
it most of a subword corpus's preparation (docs/large-corpora.md). Here
each word's substrings get an integer id once, and a round is a few NumPy
passes:

- A round counts the substrings that start where the word's pieces of the
  round before start (every position in the first round), each weighted by
  the word's count.
- The learner then walks the substrings from longest to shortest, keeping
  those whose count reaches the threshold and taking each one's count from
  all of its prefixes. The count a substring is kept with is therefore its
  own count less its one-character-longer extensions' counts: a prefix
  loses every extension's count once, and those extensions' own losses add
  back up.
- A word's pieces are its greedy longest-match split by the round's tokens
  (a word some position of which no token starts is left out of the next
  round), found for all words at once.

Filtering the input and ordering the final vocabulary are the library's
own functions. `tests/tokenizers/test_wordpiece_learner.py` checks that
both give the same vocabulary.
"""

import dataclasses

import numpy as np
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as library

from keras_rnn_textgen.tokenizers.word_spans import codepoints, span_hashes


@dataclasses.dataclass(frozen=True)
class _Substrings:
    """Every substring of every word, as ids; laid out by (word, start), then end.

    `flat[pair_start[k]:pair_start[k + 1]]` are the ids of `word[p:p + 1]`,
    `word[p:p + 2]`, ... for pair `k`, which is start `p` of its word
    (pairs of a word in order: `word_pair[w] + p`). Equal substrings (both
    starting a word, or both continuing one) have one id: they are told
    apart by two 64-bit hashes of their code points.
    """

    words: list[str]
    parent: np.ndarray  # id -> id of it less its last character, -1 for one character
    single: np.ndarray  # id -> bool: one character
    first: np.ndarray  # id -> an index of `flat` where it occurs
    flat: np.ndarray  # substring ids, pair by pair
    starts: np.ndarray  # for each of `flat`, where the substring starts in its word
    ends: np.ndarray  # for each of `flat`, where it ends
    pair_start: np.ndarray  # (pairs + 1,) where each pair's ids start in `flat`
    per_pair: np.ndarray  # (pairs,) the substrings starting at each pair
    pair_word: np.ndarray  # (pairs,) the word of each pair
    word_pair: np.ndarray  # (words,) the first pair of each word
    lengths: np.ndarray  # (words,) characters of each word
    counts: np.ndarray  # (words,) how often each word occurs

    def key(self, i: int, joiner: str) -> str:
        """The library's token of id `i`: its text, after `joiner` where it continues a word."""
        k = self.first[i]
        word = self.words[self.pair_word[np.searchsorted(self.pair_start, k, "right") - 1]]
        start = int(self.starts[k])
        return (joiner if start else "") + word[start : int(self.ends[k])]


def _substrings(word_counts: list[tuple[str, int]]) -> _Substrings:
    words = [word for word, _ in word_counts]
    lengths = np.array([len(word) for word in words], np.int64)
    n_pairs = int(lengths.sum())
    pair_word = np.repeat(np.arange(len(words)), lengths)
    # A word has a pair for each of its characters: its first pair is also its offset in `points`.
    word_pair = np.cumsum(lengths) - lengths
    starts_of_pairs = np.arange(n_pairs) - word_pair[pair_word]
    per_pair = lengths[pair_word] - starts_of_pairs  # the substrings starting there
    pair_start = np.concatenate([[0], np.cumsum(per_pair)])
    pair_of = np.repeat(np.arange(n_pairs), per_pair)
    starts = starts_of_pairs[pair_of]
    ends = starts + 1 + np.arange(len(pair_of)) - pair_start[pair_of]
    # Positions in all the words' code points, one after another.
    points = codepoints("".join(words)).astype(np.uint64)
    first, last = word_pair[pair_word[pair_of]] + starts, word_pair[pair_word[pair_of]] + ends
    keys = [span_hashes(points, first, last, base=base)[0] for base in _BASES]
    keys[0] ^= (starts > 0).astype(np.uint64)  # a piece that continues a word is another token
    order = np.lexsort(keys)
    new = np.ones(len(order), bool)
    new[1:] = (keys[0][order][1:] != keys[0][order][:-1]) | (
        keys[1][order][1:] != keys[1][order][:-1]
    )
    flat = np.empty(len(order), np.int64)
    flat[order] = np.cumsum(new) - 1
    n_ids = int(new.sum())
    occurrence = np.zeros(n_ids, np.int64)
    occurrence[flat] = np.arange(len(flat))
    parent = np.full(n_ids, -1, np.int64)
    longer = np.flatnonzero(ends - starts > 1)
    parent[flat[longer]] = flat[longer - 1]
    return _Substrings(
        words,
        parent,
        parent < 0,
        occurrence,
        flat,
        starts,
        ends,
        pair_start,
        per_pair,
        pair_word,
        word_pair,
        lengths,
        np.array([count for _, count in word_counts], np.int64),
    )


# Two independent hashes (`word_spans.span_hashes`) tell the substrings apart.
_BASES = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)


def _kept_counts(subs: _Substrings, pairs: np.ndarray, thresh: int) -> dict[int, int]:
    """One round: the ids counted from the chosen pairs that reach `thresh`, with their counts."""
    weights = np.zeros(len(subs.per_pair), np.int64)
    weights[pairs] = subs.counts[subs.pair_word[pairs]]
    raw = np.bincount(
        subs.flat, weights=np.repeat(weights, subs.per_pair), minlength=len(subs.parent)
    ).astype(np.int64)
    child = ~subs.single
    lost = np.bincount(subs.parent[child], weights=raw[child], minlength=len(raw))
    kept = raw - lost.astype(np.int64)
    chosen = np.flatnonzero((raw > 0) & (kept >= thresh))
    return dict(zip(chosen.tolist(), kept[chosen].tolist()))


def _split_pairs(subs: _Substrings, in_vocabulary: np.ndarray) -> np.ndarray:
    """The pairs where each word's greedy longest-match pieces start; none of a word that fails."""
    # For each pair, the farthest end of a substring in the vocabulary (0: none).
    reach = np.where(in_vocabulary[subs.flat], subs.ends, 0)
    farthest = np.maximum.reduceat(reach, subs.pair_start[:-1])
    words = np.arange(len(subs.lengths))
    position = np.zeros(len(words), np.int64)
    failed = np.zeros(len(words), bool)
    visited = [np.zeros(0, np.int64)]
    while len(words):
        pair = subs.word_pair[words] + position[words]
        end = farthest[pair]
        failed[words[end == 0]] = True
        visited.append(pair[end > 0])
        words, end = words[end > 0], end[end > 0]
        position[words] = end
        words = words[end < subs.lengths[words]]
    pairs = np.concatenate(visited)
    # A word with a position no piece starts is left out whole.
    return pairs[~failed[subs.pair_word[pairs]]]


def _learn_with_thresh(subs, char_tokens, thresh: int, params) -> list[str]:
    """`library.learn_with_thresh`, its rounds counted with arrays."""
    pairs = np.arange(len(subs.pair_word))  # the first round starts everywhere
    kept = _kept_counts(subs, pairs, thresh)
    for _ in range(params.num_iterations - 1):
        in_vocabulary = subs.single.copy()  # every character is a token
        in_vocabulary[list(kept)] = True
        kept = _kept_counts(subs, _split_pairs(subs, in_vocabulary), thresh)
    tokens = {subs.key(i, params.joiner): count for i, count in kept.items()}
    tokens = library.ensure_all_tokens_exist(
        char_tokens, tokens, params.include_joiner_token, params.joiner
    )
    return library.generate_final_vocabulary(params.reserved_tokens, char_tokens, tokens)


def learn(
    word_counts: list[tuple[str, int]],
    vocab_size: int,
    reserved_tokens: list[str],
    max_input_tokens: int = int(5e6),
) -> list[str]:
    """The vocabulary `library.learn` gives with its other arguments at their defaults.

    Example:
        >>> learn([("walking", 40), ("talking", 30)], vocab_size=30, reserved_tokens=["[UNK]"])[:4]
        ['[UNK]', 'a', 'g', 'i']
    """
    params = library.Params(
        upper_thresh=int(1e7),
        lower_thresh=10,
        num_iterations=4,
        max_input_tokens=max_input_tokens,
        max_token_length=50,
        max_unique_chars=1000,
        vocab_size=vocab_size,
        slack_ratio=0.05,
        include_joiner_token=True,
        joiner="##",
        reserved_tokens=reserved_tokens,
    )
    upper, lower = library.get_search_threshs(word_counts, params.upper_thresh, params.lower_thresh)
    words = library.get_input_words(word_counts, params.reserved_tokens, params.max_token_length)
    allowed = library.get_allowed_chars(words, params.max_unique_chars)
    words = library.filter_input_words(words, allowed, params.max_input_tokens)
    if any(params.joiner in word for word, _ in words):
        # The library tells `##a` the piece from `##a` the word by length alone: rare, and slow.
        return library.learn(
            word_counts, vocab_size, reserved_tokens, max_input_tokens=max_input_tokens
        )
    subs = _substrings(words)
    char_tokens = library.extract_char_tokens(words)
    # The library's binary search for the threshold, as a loop.
    slack = max(params.slack_ratio * vocab_size, 0)
    while True:
        thresh = (upper + lower) // 2
        vocab = _learn_with_thresh(subs, char_tokens, thresh, params)
        if (vocab_size - slack <= len(vocab) <= vocab_size) or lower >= upper or thresh <= 1:
            return vocab
        if len(vocab) > vocab_size:
            lower = thresh + 1
        else:
            upper = thresh - 1
