"""samples.txt blocks naming a step checkpoint: new readers read old files, old readers new."""

import re

from keras_rnn_textgen.saving.run_logs import Sample, append_sample, read_samples, sample_block

SAMPLES = [
    Sample(4, 1, None, 0.5, "First Citizen:\n\nSpeak, speak."),
    Sample(6, 1, None, 0.5, "Мороз и солнце", "steps/step-000006.weights.h5"),
    Sample(6, 1, None, 1.0, "--- checkpoint\nROMEO", "steps/step-000006.weights.h5"),
    Sample(8, 2, 7.812, 0.5, "ROMEO:\n\nO, <b> & me"),
]

# The reader of samples.txt before checkpoints were named, kept here as it was.
_OLD_HEADER = re.compile(
    r"^--- step (\d+) \(epoch (\d+)\), val perplexity (\S+), temperature (\S+)$", re.MULTILINE
)


def _old_read(content: str) -> list[tuple[int, int, float | None, float, str]]:
    headers = list(_OLD_HEADER.finditer(content))
    blocks = []
    for header, following in zip(headers, [*headers[1:], None]):
        end = following.start() if following else len(content)
        text = content[header.end() + 1 : end].removesuffix("\n\n")
        step, epoch, ppl, temperature = header.groups()
        ppl = None if ppl == "n/a" else float(ppl)
        blocks.append((int(step), int(epoch), ppl, float(temperature), text))
    return blocks


def test_a_checkpoint_is_named_on_a_second_header_line():
    block = sample_block(Sample(6, 1, None, 0.5, "To be", "steps/step-000006.weights.h5"))
    assert block == (
        "--- step 6 (epoch 1), val perplexity n/a, temperature 0.5\n"
        "--- checkpoint steps/step-000006.weights.h5\nTo be\n\n"
    )
    # Without a checkpoint a block is as it always was.
    assert sample_block(Sample(4, 1, None, 0.5, "To be")) == (
        "--- step 4 (epoch 1), val perplexity n/a, temperature 0.5\nTo be\n\n"
    )


def test_blocks_with_checkpoints_read_back_exactly(tmp_path):
    path = tmp_path / "samples.txt"
    for sample in SAMPLES:
        append_sample(path, sample)
    assert read_samples(path) == SAMPLES


def test_the_new_reader_reads_a_file_written_before_checkpoints(tmp_path):
    path = tmp_path / "samples.txt"
    path.write_text(
        "--- step 4 (epoch 1), val perplexity n/a, temperature 0.5\nTo be\n\n"
        "--- step 8 (epoch 2), val perplexity 7.812, temperature 1\nor not\n\n",
        encoding="utf-8",
    )
    assert read_samples(path) == [
        Sample(4, 1, None, 0.5, "To be"),
        Sample(8, 2, 7.812, 1.0, "or not"),
    ]


def test_an_old_reader_reads_every_block_of_a_new_file(tmp_path):
    content = "".join(sample_block(s) for s in SAMPLES)
    blocks = _old_read(content)
    assert [b[:4] for b in blocks] == [
        (s.step, s.epoch, s.val_perplexity, s.temperature) for s in SAMPLES
    ]
    # The checkpoint line is the first line of the text for a reader that predates it.
    for (*_, text), sample in zip(blocks, SAMPLES):
        prefix = f"--- checkpoint {sample.checkpoint}\n" if sample.checkpoint else ""
        assert text == prefix + sample.text


def test_a_block_cut_within_its_checkpoint_line_is_left_out(tmp_path):
    path = tmp_path / "samples.txt"
    whole = "".join(sample_block(s) for s in SAMPLES[:1]).encode()
    last = sample_block(SAMPLES[1]).encode()
    text_start = last.index(b"\n", last.index(b"--- checkpoint")) + 1
    for cut in range(text_start + 1):
        path.write_bytes(whole + last[:cut])
        assert read_samples(path) == SAMPLES[:1], last[:cut]
