"""The pages' HTML, CSS and JavaScript, kept as package files in ``apps/static/``.

As files they can be read, linted and checked in a browser like any page, and
no Python string quoting can break them (a ``"\\n"`` in a Python string once
split the upload page's script). They are installed as package data and read
with :mod:`importlib.resources`, so a wheel or a zip import finds them too.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def asset(name: str) -> str:
    """The text of ``apps/static/NAME``."""
    return (files("recogenre.apps") / "static" / name).read_text(encoding="utf-8")
