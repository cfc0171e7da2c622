"""The output folder: one complete snapshot per run, and ``latest`` pointing at one.

    OUT/runs/<run-id>/{tracks,frames,errors,changes,albums}/part-*.parquet
    OUT/runs/<run-id>/manifest.json
    OUT/latest -> runs/<run-id>        (a symlink; on object stores a pointer file)

``latest`` only moves after a run has written everything, and moves with one
atomic rename, so readers never see a half-written run.

recogenre deletes only what it created: a folder under ``runs/`` is a run of
recogenre's when its name is a run id and it holds the marker file written
the moment the run's folder was made (or, for runs made before the marker,
a manifest naming that run id). Anything else there -- a user's
``experiment-final/``, another tool's ``runs/`` -- is left alone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recogenre.analysis.paths import is_remote

if TYPE_CHECKING:
    from recogenre.pipeline.graph import OutputDirs

LATEST = "latest"
MANIFEST = "manifest.json"
MARKER = ".recogenre-run"  # written first into every run folder recogenre creates
REJECTED = "rejected.json"  # a finished run that was not published (too many classify errors)
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{4}")


def _filesystems():
    """Beam's ``FileSystems``, imported when first used: the command line's parser imports this
    module for ``run``'s options, and ``classify``/``serve`` must not pay Beam's import (~1.5 s)."""
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def __getattr__(name: str):
    """``layout.FileSystems`` (used by run.py) is Beam's, imported on first use."""
    if name == "FileSystems":
        return _filesystems()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _LocalFiles:
    """What reading a snapshot needs of Beam's ``FileSystems``, for a local path: reading a
    snapshot (``load_snapshot``, ``report``, ``tag``, the beets plugin) then costs no Beam
    import (~1.5 s of CPU). Writing always goes through Beam's, as the pipeline does."""

    join = staticmethod(os.path.join)
    exists = staticmethod(os.path.exists)

    @staticmethod
    def open(path: str):
        return open(path, "rb")


def _reader(path: str):
    """Local files for a local path, Beam's filesystems for any other."""
    return _filesystems() if is_remote(path) else _LocalFiles


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def run_dir(out: str, run_id: str) -> str:
    return _reader(out).join(out, "runs", run_id)


def output_dirs(run_path: str) -> OutputDirs:
    from recogenre.pipeline.graph import OutputDirs

    return OutputDirs(*(_filesystems().join(run_path, t) for t in OutputDirs._fields))


def prepare(out: str, run_id: str) -> str:
    """Creates the run's folder, failing early (before any work) if OUT is not writable."""
    path = run_dir(out, run_id)
    if not is_remote(path):
        Path(path).mkdir(parents=True, exist_ok=False)
        (Path(path) / MARKER).write_text(run_id + "\n")  # also proves OUT writable before any work
    else:
        _filesystems().mkdirs(path)
    return path


def write_manifest(run_path: str, manifest: dict) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"
    target = _filesystems().join(run_path, MANIFEST)
    if not is_remote(target):
        tmp = target + ".tmp"
        Path(tmp).write_text(text)
        os.replace(tmp, target)
    else:
        with _filesystems().create(target) as f:
            f.write(text.encode())


def switch_latest(out: str, run_id: str) -> None:
    """Points OUT/latest at the run with one atomic rename."""
    relative = f"runs/{run_id}"
    if not is_remote(out):
        tmp = Path(out) / f".{LATEST}.{run_id}.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(relative, target_is_directory=True)
        os.replace(tmp, Path(out) / LATEST)
    else:  # object stores: a single-object write is atomic
        with _filesystems().create(_filesystems().join(out, LATEST)) as f:
            f.write((relative + "\n").encode())


def read_manifest(run_path: str) -> dict | None:
    files = _reader(run_path)
    target = files.join(run_path, MANIFEST)
    try:
        with files.open(target) as f:
            return json.loads(f.read().decode())
    except Exception:
        return None


def is_own_run(folder: Path) -> bool:
    """True for a run folder recogenre created (see the module's docstring)."""
    if folder.is_symlink() or not folder.is_dir() or not RUN_ID.fullmatch(folder.name):
        return False
    if (folder / MARKER).is_file():
        return True
    return (read_manifest(str(folder)) or {}).get("run_id") == folder.name


def _run_folders(out: str) -> list[Path]:
    runs = Path(out) / "runs"
    if is_remote(out) or not runs.is_dir():
        return []
    return sorted(runs.iterdir())


def foreign_entries(out: str) -> list[str]:
    """Names under OUT/runs/ that recogenre did not create: never deleted, never read."""
    return [p.name for p in _run_folders(out) if not is_own_run(p)]


def complete_runs(out: str) -> list[str]:
    """recogenre's run folders holding a manifest, oldest first (run ids sort by time)."""
    return [str(p) for p in _run_folders(out) if is_own_run(p) and (p / MANIFEST).is_file()]


def rejected_runs(out: str) -> list[str]:
    """Runs that finished but were not published, kept for inspection, oldest first."""
    return [
        str(p)
        for p in _run_folders(out)
        if is_own_run(p) and (p / REJECTED).is_file() and not (p / MANIFEST).is_file()
    ]


def write_rejection(run_path: str, report: dict) -> None:
    """Marks a finished run as not published, so the next run keeps it for inspection."""
    if not is_remote(run_path):
        (Path(run_path) / REJECTED).write_text(json.dumps(report, indent=2, default=str) + "\n")


def remove_incomplete_runs(out: str) -> list[str]:
    """Deletes recogenre's run folders left unfinished by runs that were killed.

    Only called while holding the run lock, so no live run owns them. A folder
    is unfinished when it is recogenre's (marker file), has no manifest and
    was not kept on purpose as a rejected run.
    """
    removed = []
    for p in _run_folders(out):
        if (
            is_own_run(p)
            and (p / MARKER).is_file()
            and not (p / MANIFEST).is_file()
            and not (p / REJECTED).is_file()
        ):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    return removed


def prune(out: str, keep: int) -> list[str]:
    """Deletes recogenre's oldest complete runs beyond ``keep``, never the one latest points at.

    Rejected runs (kept for inspection) are pruned the same way: the newest ``keep`` stay.
    """
    current = latest_run(out)
    runs = complete_runs(out)
    rejected = rejected_runs(out)
    doomed = [
        r for r in runs[: max(0, len(runs) - keep)] if current is None or Path(r).resolve() != Path(current)
    ] + rejected[: max(0, len(rejected) - keep)]
    for r in doomed:
        shutil.rmtree(r, ignore_errors=True)
    return [Path(r).name for r in doomed]


def latest_run(out: str) -> str | None:
    """The folder of the run ``latest`` points at, or None."""
    if not is_remote(out):
        link = Path(out) / LATEST
        return str(link.resolve()) if link.exists() else None
    pointer = _filesystems().join(out, LATEST)
    if not _filesystems().exists(pointer):
        return None
    with _filesystems().open(pointer) as f:
        return _filesystems().join(out, f.read().decode().strip())


def read_tables(run_path: str) -> dict[str, Any]:
    """The written tables, as pandas DataFrames (schemas applied even when empty)."""
    import pyarrow.dataset as ds

    from recogenre.analysis import schemas

    tables = {}
    for name, schema in (
        ("tracks", schemas.TRACKS),
        ("frames", schemas.FRAMES),
        ("errors", schemas.ERRORS),
        ("changes", schemas.CHANGES),
        ("albums", schemas.ALBUMS),
    ):
        folder = f"{run_path}/{name}"
        if not _reader(run_path).exists(folder):
            tables[name] = schema.empty_table().to_pandas()
            continue
        tables[name] = ds.dataset(folder, schema=schema, format="parquet").to_table().to_pandas()
    return tables
