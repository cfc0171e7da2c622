"""How ``--help`` shows defaults, for every sub-command at once.

argparse's ``ArgumentDefaultsHelpFormatter`` appends ``(default: X)`` to
every option; this one skips what would be noise or a duplicate: options
whose help already names its default, flags (``store_true``) and options
without a default (``None``), whose help says what happens instead.
"""

from __future__ import annotations

import argparse


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # Identity, not ==: a default of 0 or 0.0 is worth showing, and 0 == False.
        if "default" in text.lower() or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help lists defaults; sub-parsers inherit it via ``parser_class``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)
