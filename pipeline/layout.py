"""The output folder: one complete snapshot per run, and ``latest`` pointing at one.

    OUT/runs/<run-id>/{tracks,frames,errors}/part-*.parquet
    OUT/runs/<run-id>/manifest.json
    OUT/latest -> runs/<run-id>        (a symlink; on object stores a pointer file)

``latest`` only moves after a run has written everything, and moves with one
atomic rename, so readers never see a half-written run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from pipeline.graph import OutputDirs

LATEST = "latest"
MANIFEST = "manifest.json"


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def is_local(path: str) -> bool:
    return "://" not in path


def run_dir(out: str, run_id: str) -> str:
    return FileSystems.join(out, "runs", run_id)


def output_dirs(run_path: str) -> OutputDirs:
    return OutputDirs(*(FileSystems.join(run_path, t) for t in OutputDirs._fields))


def prepare(out: str, run_id: str) -> str:
    """Creates the run's folder, failing early (before any work) if OUT is not writable."""
    path = run_dir(out, run_id)
    if is_local(path):
        Path(path).mkdir(parents=True, exist_ok=False)
        probe = Path(path) / ".writable"
        probe.write_text("")
        probe.unlink()
    else:
        FileSystems.mkdirs(path)
    return path


def write_manifest(run_path: str, manifest: dict) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n"
    target = FileSystems.join(run_path, MANIFEST)
    if is_local(target):
        tmp = target + ".tmp"
        Path(tmp).write_text(text)
        os.replace(tmp, target)
    else:
        with FileSystems.create(target) as f:
            f.write(text.encode())


def switch_latest(out: str, run_id: str) -> None:
    """Points OUT/latest at the run with one atomic rename."""
    relative = f"runs/{run_id}"
    if is_local(out):
        tmp = Path(out) / f".{LATEST}.{run_id}.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(relative, target_is_directory=True)
        os.replace(tmp, Path(out) / LATEST)
    else:  # object stores: a single-object write is atomic
        with FileSystems.create(FileSystems.join(out, LATEST)) as f:
            f.write((relative + "\n").encode())


def read_manifest(run_path: str) -> dict | None:
    target = FileSystems.join(run_path, MANIFEST)
    try:
        with FileSystems.open(target) as f:
            return json.loads(f.read().decode())
    except Exception:
        return None


def complete_runs(out: str) -> list[str]:
    """Run folders holding a manifest, oldest first (run ids sort by time)."""
    runs = Path(out) / "runs"
    if not is_local(out) or not runs.is_dir():
        return []
    return [str(p) for p in sorted(runs.iterdir()) if (p / MANIFEST).is_file()]


def remove_incomplete_runs(out: str) -> list[str]:
    """Deletes run folders without a manifest: left by runs that were killed.

    Only called while holding the run lock, so no live run owns them.
    """
    runs = Path(out) / "runs"
    if not is_local(out) or not runs.is_dir():
        return []
    removed = []
    for p in sorted(runs.iterdir()):
        if p.is_dir() and not (p / MANIFEST).is_file():
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    return removed


def prune(out: str, keep: int) -> list[str]:
    """Deletes the oldest complete runs beyond ``keep``, never the one latest points at."""
    current = latest_run(out)
    runs = complete_runs(out)
    doomed = [
        r for r in runs[: max(0, len(runs) - keep)] if current is None or Path(r).resolve() != Path(current)
    ]
    for r in doomed:
        shutil.rmtree(r, ignore_errors=True)
    return [Path(r).name for r in doomed]


def latest_run(out: str) -> str | None:
    """The folder of the run ``latest`` points at, or None."""
    if is_local(out):
        link = Path(out) / LATEST
        return str(link.resolve()) if link.exists() else None
    pointer = FileSystems.join(out, LATEST)
    if not FileSystems.exists(pointer):
        return None
    with FileSystems.open(pointer) as f:
        return FileSystems.join(out, f.read().decode().strip())
