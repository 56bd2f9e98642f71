"""The preparation's progress line on a terminal: megabytes, and a speed only once it is known."""

import io

from keras_rnn_textgen.cli.common import progress_line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_speed_counts_from_the_first_report_of_a_stage():
    screen = Terminal()
    show = progress_line(screen)
    mb = 2**20
    show("tokenizing", 4 * mb, 100 * mb)  # the first block: no time has passed for the stage
    assert screen.getvalue().endswith("tokenizing the corpus:   4% (4 of 100 MB)\x1b[K")
    show("tokenizing", 100 * mb, 100 * mb)
    last = screen.getvalue().split("\r")[-1]
    assert last.startswith("tokenizing the corpus: 100% (100 of 100 MB, ")
    assert float(last.split(", ")[1].removesuffix(" MB/s)\x1b[K\n")) > 0


def test_no_line_off_a_terminal():
    assert progress_line(io.StringIO()) is None
