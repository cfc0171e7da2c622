"""The ledger of tag writes: how a nightly run tells recogenre's own tag write from a real change.

``recogenre tag --write`` changes the bytes of the files it tags (their tag
blocks, never their audio), so their size, mtime and sha256 no longer match
the snapshot and the next run would decode them again for nothing. The
ledger ``OUT/tag-writes.jsonl`` records each write: the file's sha256 before
and after, the new size and mtime, the field and the value. A run that finds
a file whose sha256 differs from the snapshot's follows the ledger from the
snapshot's sha256 (several writes in a row form a chain); when the chain
reaches the file's current sha256, the only changes were recogenre's tag
writes and the track is carried over with the new size, mtime and sha256.

Matching is on the whole content's sha256, never on size or mtime: an entry
cannot make a file that anything else changed look unchanged (the other
tool's bytes have another hash), and an entry for a write that never reached
the file (a crash before the rename) matches nothing.

One JSON object per line, appended (and fsync'ed) before each file is
renamed into place, so a killed ``tag`` leaves at most an entry that matches
nothing; a line cut short by a crash is ignored. ``tag --write`` rewrites the
file atomically at its start, dropping entries that a later snapshot has
absorbed. Both happen under the output folder's run lock.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable

from recogenre.analysis.paths import is_remote

LEDGER_NAME = "tag-writes.jsonl"
FIELDS = (
    "path",  # stored form, as in the tracks table
    "before_sha256",
    "after_sha256",
    "after_size",
    "after_mtime",  # seconds since the epoch
    "field",
    "value",
    "snapshot_run",  # the run whose genres were written
    "written_at",
)


def ledger_path(out: str) -> str:
    """``OUT/tag-writes.jsonl``: beside ``runs/``, so pruning runs never loses it."""
    return out.rstrip("/") + "/" + LEDGER_NAME


def ledger_problem(path: str) -> str | None:
    """Why the ledger at ``path`` cannot be used (a folder or a FIFO in its place), or None.

    Only ``stat``: opening a FIFO would block. A missing ledger is no problem (no tag
    writes yet); a remote one is read by Beam, which reports its own errors.
    """
    if is_remote(path):
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"{path} cannot be read: {e.strerror or e}"
    if stat.S_ISREG(st.st_mode):
        return None
    kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
    return f"{path} is {kind}, not recogenre's ledger of tag writes"


def parse_line(line: str | bytes) -> list[dict]:
    """[entry] for a well-formed line, [] for anything else (a line cut short by a crash)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return []
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in FIELDS[:3]):
        return []
    return [entry]


def read_ledger(path: str) -> list[dict]:
    """The entries of a local ledger; [] when there is none."""
    try:
        with open(path, "rb") as f:
            return [e for line in f for e in parse_line(line)]
    except FileNotFoundError:
        return []


def reachable(entries: Iterable[dict], start_sha256: str | None) -> set[str]:
    """Every sha256 recogenre's tag writes lead to from ``start_sha256`` (itself included)."""
    if not start_sha256:
        return set()
    edges: dict[str, set[str]] = {}
    for e in entries:
        edges.setdefault(e["before_sha256"], set()).add(e["after_sha256"])
    seen, todo = {start_sha256}, [start_sha256]
    while todo:
        for after in edges.get(todo.pop(), ()):
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


def append(path: str, entry: dict) -> None:
    """Adds one entry durably (written and fsync'ed before the caller renames the file)."""
    line = (json.dumps({k: entry.get(k) for k in FIELDS}, ensure_ascii=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def rewrite(path: str, entries: list[dict]) -> None:
    """Replaces the ledger with ``entries`` in one rename (readers see the old or the new one);
    with no entries left the file goes, and runs read no ledger at all."""
    if not entries:
        if os.path.exists(path):
            os.unlink(path)
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        for e in entries:
            f.write((json.dumps({k: e.get(k) for k in FIELDS}, ensure_ascii=False) + "\n").encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def still_relevant(entries: list[dict], snapshot_sha256: dict[str, str]) -> list[dict]:
    """The entries a run on top of the snapshot can still use: those on a chain from the
    snapshot's sha256 of their path. Entries a later run absorbed (or for files it no longer
    has) are dropped, so the ledger stays as small as the writes since the last run."""
    by_path: dict[str, list[dict]] = {}
    for e in entries:
        by_path.setdefault(e["path"], []).append(e)
    kept = []
    for path, mine in by_path.items():
        reach = reachable(mine, snapshot_sha256.get(path))
        kept += [e for e in mine if e["before_sha256"] in reach]
    return kept
