"""Every option of every command says what it does, and the command list is not cut short."""

import click

from keras_rnn_textgen.cli.main import main

from ..conftest import invoke_cli


def _commands(group: click.Group, path: str = ""):
    yield path or "(top level)", group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, f"{path} {name}".strip())
        else:
            yield f"{path} {name}".strip(), command


def test_every_option_of_every_command_has_help():
    missing = [
        f"{name} {'/'.join(param.opts)}"
        for name, command in _commands(main)
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert missing == []


def test_the_command_list_gives_each_first_sentence_whole():
    result = invoke_cli(["--help"])
    assert result.exit_code == 0, result.output
    listing = result.output.split("Commands:")[1]
    assert "..." not in listing
    # Compared without white space: the list wraps long sentences, even inside a word.
    listing = "".join(listing.split())
    for name, command in main.commands.items():
        first = command.help.split("\n\n")[0].split(". ")[0]
        assert "".join(f"{name} {first}".split()) in listing
