"""`fit`'s options come from the config dataclasses: one default, one help, one set of choices."""

import dataclasses

import click
import pytest

from keras_rnn_textgen.cli.fit import fit
from keras_rnn_textgen.config import ModelConfig, TrainConfig

FIELDS = [f for cls in (ModelConfig, TrainConfig) for f in dataclasses.fields(cls)]
OPTIONS = {p.name: p for p in fit.params}


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_each_config_field_is_one_option_with_its_default_help_and_choices(field):
    if not field.metadata["cli"]:
        assert field.name not in OPTIONS
        return
    option = OPTIONS[field.name]
    default = option.default if not option.multiple else tuple(option.default)
    assert default == field.default
    assert option.help == field.metadata["help"]
    if field.metadata["choices"]:
        assert isinstance(option.type, click.Choice)
        assert tuple(option.type.choices) == field.metadata["choices"]


def test_parsed_options_build_the_configs_unchanged():
    ctx = fit.make_context("fit", [])
    values = {k: v for k, v in ctx.params.items() if k in {f.name for f in FIELDS}}
    model = {f.name for f in dataclasses.fields(ModelConfig)}
    assert ModelConfig(**{k: v for k, v in values.items() if k in model}) == ModelConfig()
    assert TrainConfig(**{k: v for k, v in values.items() if k not in model}) == TrainConfig()


def test_a_value_outside_the_choices_is_refused_by_the_dataclass_too():
    with pytest.raises(ValueError, match="`documents` must be one of"):
        TrainConfig(documents="pages")
    with pytest.raises(click.BadParameter):
        OPTIONS["documents"].type.convert("pages", None, None)
