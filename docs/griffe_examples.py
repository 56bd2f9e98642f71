"""A griffe extension for the API page: the docstrings' `Example:` sections read as `Examples:`.

The package's docstrings title their doctests `Example:` (STYLE.md); griffe's Google parser
knows only `Examples:` as the section whose `>>>` lines are code, and would render the singular
as a note whose `>>>` lines become nested quotes. mkdocs.yml loads this file by its path.
"""

import re
from typing import Any

import griffe

# A section title alone on its line, at any indentation.
_EXAMPLE_TITLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Renames each `Example:` section title to `Examples:` before the docstring is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_TITLE.sub(r"\1Examples:", obj.docstring.value)
