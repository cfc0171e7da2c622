"""Which published run a reading command (report, similar) works on.

Reading commands never change an output folder; they read ``OUT/latest`` or,
with ``--run``, one kept run, and say in one line when there is none.
"""

from __future__ import annotations

from pathlib import Path

from recogenre.analysis.outcomes import UsageError
from recogenre.analysis.paths import is_remote


def find_run(out: str, run_id: str | None) -> str | None:
    """``OUT/runs/RUN_ID`` when given, else the published run; None when it does not exist."""
    from recogenre.pipeline import layout

    if run_id:
        path = Path(layout.run_dir(out, run_id))
        return str(path.resolve()) if path.is_dir() else None
    return layout.latest_run(out)


def run_to_read(out: str, run_id: str | None, command: str, wanted: str) -> str:
    """The run folder ``command`` reads; :class:`UsageError` saying why there is none.

    ``wanted`` names what is missing in the message, e.g. "run to report".
    """
    from recogenre.pipeline import layout

    if is_remote(out):
        raise UsageError(f"{command} reads local output folders only, not {out}")
    run_path = find_run(out, run_id)
    if run_path is None:
        what = f"run {run_id}" if run_id else f"{out}/{layout.LATEST}"
        raise UsageError(f"no {wanted}: {what} does not exist (run `recogenre run` first)")
    return run_path
