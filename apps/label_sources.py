"""Where ``recogenre train`` finds the labels a library already has (``--labels SRC``).

- ``FILE.csv`` / ``.jsonl`` / ``.parquet``: a catalogue with ``path`` and ``label`` columns,
  read by the catalogues' own reader (``analysis/catalogue_files.py``: relative paths are
  relative to the file's folder, local paths made canonical like the snapshot's);
- ``tags``: the genre tags in the files (several values allowed). The snapshot's
  ``file_genre`` column when it has one, else read now with mutagen from the fields
  ``apps/tag_formats.py`` knows (ID3 ``TCON`` and an MP3's APEv2 ``Genre``, Vorbis
  ``GENRE``, MP4 ``©gen``); other formats (WAV, AU, ...) have none;
- ``folder:N``: the name of the N-th folder above each file (1: its own folder, 2: the one
  above: ``Genre/Album/track.flac`` with ``folder:2``);
- ``beets:LIBRARY.db`` or ``beets:LIBRARY.db@MUSICDIR``: a beets library, read with sqlite3
  (read-only). Its ``items.genres`` (beets 2.x: several values joined by ``\\␀``) or
  ``items.genre`` (older beets). ``items.path`` is absolute, or (beets 2.x) relative to the
  library's ``directory``: taken from ``@MUSICDIR`` when given, else from ``directory:`` in
  the ``config.yaml`` next to the database.

Each label keeps where it came from (:attr:`LabelledPath.origin`). Labelled paths that are
not tracks of the snapshot are listed by :func:`match_tracks`, not silently dropped.
"""

from __future__ import annotations

import os
import posixpath
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from recogenre.analysis.catalogue_files import CATALOGUE_SUFFIXES, CatalogueError, read_catalogue_file
from recogenre.analysis.outcomes import UsageError
from recogenre.analysis.paths import canonical_file, from_os_path, to_os_path
from recogenre.analysis.train_defaults import LABEL_SOURCES_HELP

BEETS_SEPARATOR = "\\\u2400"  # beets 2.x joins a multi-valued field with a backslash and U+2400 (␀)


class LabelSourceError(UsageError):
    """A label source that cannot be read: one line, exit status 2, no head written."""


@dataclass(frozen=True)
class LabelledPath:
    path: str  # stored (canonical) form, as in the snapshot
    values: tuple[str, ...]  # raw labels as found; several for a multi-valued tag
    origin: str  # where they came from: "labels.csv", "tag TCON", "folder:2", "beets items.genres"


@dataclass
class LabelSet:
    source: str  # as the user wrote it
    kind: str  # catalogue, tags, folder, beets
    items: list[LabelledPath]
    notes: list[str] = field(default_factory=list)  # what was read and what had no label


def read_labels(source: str, tracks: pd.DataFrame) -> LabelSet:
    """The labels ``source`` gives; ``tracks`` (the snapshot's) for the sources that read the files."""
    if source == "tags":
        return _from_tags(tracks)
    if source.startswith("folder:"):
        return _from_folders(source, tracks)
    if source.startswith("beets:"):
        return _from_beets(source)
    if source.lower().endswith(CATALOGUE_SUFFIXES):
        return _from_catalogue(source)
    raise LabelSourceError(f"train: --labels {source}: not a label source ({LABEL_SOURCES_HELP})")


def _from_catalogue(source: str) -> LabelSet:
    if not os.path.exists(to_os_path(source)):
        raise LabelSourceError(f"train: label file {source} does not exist")
    try:
        entries = read_catalogue_file(source)
    except CatalogueError as e:
        raise LabelSourceError(f"train: {e}") from None
    name = os.path.basename(source)
    items = [LabelledPath(e.path, (e.label,), name) for e in entries if e.label]
    notes = [f"{name}: {len(entries)} paths, {len(items)} with a label"]
    return LabelSet(source, "catalogue", items, notes)


def _from_tags(tracks: pd.DataFrame) -> LabelSet:
    if "file_genre" in tracks.columns:  # read by the run: no file is opened again
        items = [
            LabelledPath(p, tuple(str(v) for v in values), "file_genre column")
            for p, values in zip(tracks["path"], tracks["file_genre"])
            if values is not None and len(values)
        ]
        return LabelSet(
            "tags", "tags", items, [f"file_genre column: {len(items)} of {len(tracks)} tracks tagged"]
        )
    from recogenre.apps.tag_formats import GENRE_FIELD, Unsupported, field_key, open_tags, tag_format

    items, untagged, unreadable, no_format = [], 0, 0, 0
    for path in tracks["path"]:
        try:
            fmt = tag_format(path)
        except Unsupported:
            no_format += 1
            continue
        try:
            values = open_tags(to_os_path(path), fmt).get(GENRE_FIELD)
        except Exception:  # a damaged or vanished file: counted, never a crash
            unreadable += 1
            continue
        if values:
            items.append(LabelledPath(path, tuple(values), f"tag {field_key(fmt, GENRE_FIELD)}"))
        else:
            untagged += 1
    notes = [
        f"genre tags read from {len(tracks) - no_format} files: {len(items)} tagged, {untagged} untagged"
    ]
    if no_format:
        notes.append(f"{no_format} files in formats without genre tags (WAV, AU, ...)")
    if unreadable:
        notes.append(f"{unreadable} files whose tags could not be read")
    return LabelSet("tags", "tags", items, notes)


def _from_folders(source: str, tracks: pd.DataFrame) -> LabelSet:
    text = source.removeprefix("folder:")
    if not text.isdigit() or int(text) < 1:
        raise LabelSourceError(
            f"train: --labels {source}: N in folder:N is a whole number from 1 (the file's folder)"
        )
    n = int(text)
    items, too_shallow = [], 0
    for path in tracks["path"]:
        folder = path
        for _ in range(n):
            folder = posixpath.dirname(folder)
        name = posixpath.basename(folder)
        if not name or folder in ("/", ""):
            too_shallow += 1
            continue
        items.append(LabelledPath(path, (name,), source))
    notes = [f"{source}: {len(items)} tracks"] + (
        [f"{too_shallow} tracks have no folder {n} up"] if too_shallow else []
    )
    return LabelSet(source, "folder", items, notes)


def _from_beets(source: str) -> LabelSet:
    spec = source.removeprefix("beets:")
    db, _, music = spec.partition("@")
    if not db or not os.path.isfile(db):
        raise LabelSourceError(f"train: beets library {db or '(none)'} does not exist")
    try:
        con = sqlite3.connect(f"file:{os.path.abspath(db)}?mode=ro", uri=True)
        try:
            columns = {row[1] for row in con.execute("PRAGMA table_info(items)")}
            genre = "genres" if "genres" in columns else "genre" if "genre" in columns else None
            if "path" not in columns or genre is None:
                raise LabelSourceError(
                    f"train: {db} is not a beets library (no items table with path and genre)"
                )
            rows = con.execute(f"SELECT path, {genre} FROM items").fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise LabelSourceError(f"train: cannot read beets library {db}: {e}") from None
    directory = music or _beets_directory(db)
    items, relative_without_dir = [], 0
    for raw_path, value in rows:
        path = os.fsdecode(raw_path) if isinstance(raw_path, bytes) else str(raw_path)
        if not os.path.isabs(path):
            if not directory:
                relative_without_dir += 1
                continue
            path = os.path.join(directory, path)
        values = _beets_values(value, genre)
        if values:
            items.append(LabelledPath(canonical_file(from_os_path(path)), values, f"beets items.{genre}"))
    notes = [f"beets {os.path.basename(db)}: {len(rows)} items, {len(items)} with a genre"]
    if relative_without_dir:
        raise LabelSourceError(
            f"train: {relative_without_dir} items of {db} have paths relative to the beets directory, which "
            "is not known: give it as beets:LIBRARY.db@MUSICDIR"
        )
    return LabelSet(source, "beets", items, notes)


def _beets_values(value, column: str) -> tuple[str, ...]:
    if value is None:
        return ()
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    parts = text.split(BEETS_SEPARATOR) if column == "genres" else [text]
    return tuple(p.strip() for p in parts if p.strip())


def _beets_directory(db: str) -> str | None:
    """``directory:`` from the config.yaml next to the database (beets' own default place for both)."""
    config = os.path.join(os.path.dirname(os.path.abspath(db)), "config.yaml")
    if not os.path.isfile(config):
        return None
    import yaml  # Beam's own dependency; beets writes its config in YAML

    try:
        with open(config, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError):
        return None
    directory = data.get("directory") if isinstance(data, dict) else None
    return os.path.expanduser(str(directory)) if directory else None


@dataclass
class Matched:
    paths: list[str]  # snapshot paths with a label, in snapshot order
    values: list[tuple[str, ...]]
    origins: list[str]
    unmatched: list[str]  # labelled paths not in the snapshot


def match_tracks(labels: LabelSet, snapshot_paths: Sequence[str]) -> Matched:
    """The labelled tracks of the snapshot, and the labelled paths it does not have."""
    by_path = {}
    for item in labels.items:
        by_path.setdefault(item.path, item)
    in_snapshot = set(snapshot_paths)
    matched = [by_path[p] for p in snapshot_paths if p in by_path]
    unmatched = sorted(p for p in by_path if p not in in_snapshot)
    return Matched(
        [m.path for m in matched], [m.values for m in matched], [m.origin for m in matched], unmatched
    )
