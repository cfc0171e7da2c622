"""``recogenre report``: charts and an HTML page from a run's Parquet (``apps/report.py``)."""

from __future__ import annotations

from recogenre.commands.delegate import add_app_command


def add_parser(sub) -> None:
    add_app_command(
        sub, "report", "recogenre.apps.report", help="charts and an HTML page from a run's Parquet"
    )
