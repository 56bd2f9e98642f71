"""`cache` shows where prepared corpora are kept and their size, and clears them."""

from keras_rnn_textgen.data import cache
from keras_rnn_textgen.data.prepare import CorpusSource, corpus_vocabulary, prepare_ids
from tests.conftest import ENGLISH, invoke_cli


def test_cache_shows_and_clears_the_prepared_corpora(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path / "cache"))
    corpus = tmp_path / "c.txt"
    corpus.write_text(ENGLISH * 50, encoding="utf-8")
    source = CorpusSource.of([corpus])
    prepare_ids(source, corpus_vocabulary(source, "char")[0], 0.1)
    shown = invoke_cli(["cache"])
    assert shown.exit_code == 0
    assert shown.stdout.startswith(f"{tmp_path / 'cache'}: 3 entries, ")
    cleared = invoke_cli(["cache", "--clear"])
    assert cleared.exit_code == 0 and cleared.stdout.startswith("removed ")
    assert invoke_cli(["cache"]).stdout == f"{tmp_path / 'cache'}: 0 entries, 0.0 MB\n"
