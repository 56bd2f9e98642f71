"""Bans, scores and beam search on word and subword models: tokens are words or pieces."""

import collections

import numpy as np
import pytest

from keras_rnn_textgen.trained_model import load

from ..conftest import fit_level


@pytest.fixture(scope="module", params=["word", "subword"])
def lm(request, tmp_path_factory):
    level = request.param
    return load(fit_level(tmp_path_factory.mktemp(level), level, epochs=1, sample_every=0))


def test_a_banned_word_or_piece_never_appears(lm):
    (before,) = lm.generate_samples("Speak", 40, greedy=True)
    assert before.new_tokens == len(before.tokens) == 40
    counts = collections.Counter(t for t in before.tokens if t != "\n")
    banned = [token for token, _ in counts.most_common(2)]
    for options in [{"greedy": True}, {"seed": 3}, {"beam": 3}]:
        (after,) = lm.generate_samples("Speak", 40, ban=banned, **options)
        assert after.new_tokens == 40 and not set(after.tokens) & set(banned), options
        assert np.all(np.isfinite(after.logprobs)) and after.log_probability < 0


def test_a_word_outside_the_vocabulary_is_refused_by_name(lm):
    with pytest.raises(
        ValueError, match=rf"`ban` token 'zyzzyva' is not in .* \({lm.tokenizer.level} level\)"
    ):
        lm.generate("Speak", 5, ban=["zyzzyva"])


def test_beam_one_is_greedy_and_a_wider_beam_makes_as_many_tokens(lm):
    (greedy,) = lm.generate_samples("Speak", 20, greedy=True)
    (one,) = lm.generate_samples("Speak", 20, beam=1)
    (four,) = lm.generate_samples("Speak", 20, beam=4)
    assert one.text == greedy.text and one.tokens == greedy.tokens
    assert four.new_tokens == greedy.new_tokens == 20
    assert four == lm.generate_samples("Speak", 20, beam=4, seed=9)[0]  # deterministic
