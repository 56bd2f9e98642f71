"""inspect --file reads only the characters it shows, in the file's encoding."""

from tests.conftest import ENGLISH, invoke_cli


def test_the_start_of_a_utf16_file_is_read(trained, tmp_path):
    path = tmp_path / "long.txt"
    path.write_text(ENGLISH.replace("\n", "\r\n") * 200, encoding="utf-16")
    folder = trained[0].folder
    args = ["inspect", "--model", folder, "--file", path, "--encoding", "utf-16"]
    result = invoke_cli([*args, "--chars", "40", "--html", tmp_path / "page.html"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("40 characters, 0 outside the vocabulary;")
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "hear" not in page  # the 41st character on is never read
    wrong = invoke_cli([*args[:-2], "--chars", "40"])
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith("error: ") and "NUL byte" in wrong.stderr
