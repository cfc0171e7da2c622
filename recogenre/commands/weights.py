"""``recogenre weights``: which weights a run uses, and installing others (``apps/weights_command.py``)."""

from __future__ import annotations

from recogenre.commands.delegate import add_app_command


def add_parser(sub) -> None:
    add_app_command(
        sub, "weights", "recogenre.apps.weights_command", help="list, install or verify CRNN weights"
    )
