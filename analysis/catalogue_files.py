"""What to tag: a folder, a glob, or a catalogue file, as a list of entries (Beam-free).

The Beam stage that turns them into a PCollection is ``transforms/catalogue.py``.
Local folders and globs are listed by :mod:`recogenre.analysis.listing` (symlinks,
special files and glob characters in folder names handled; see there why);
remote ones go through Beam's ``fileio`` so every Beam filesystem (``gs://``,
``s3://``, ...) works. Local paths are canonical and reversible
(:mod:`recogenre.analysis.paths`). Each input file becomes exactly one
:class:`CatalogueEntry`; a path listed twice is read once.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import stat
from typing import NamedTuple

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from recogenre.analysis.exclusions import DEFAULT, Exclusions
from recogenre.analysis.listing import Listed, UnlistableRoot, has_glob, list_folder, list_glob
from recogenre.analysis.logs import error_text
from recogenre.analysis.paths import (
    canonical_file,
    canonical_root,
    check_regular,
    is_remote,
    open_regular,
    to_os_path,
)

AUDIO_EXTENSIONS = frozenset(
    [
        ".wav",
        ".wave",
        ".aif",
        ".aiff",
        ".aifc",
        ".au",
        ".snd",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".mp2",
        ".m4a",
        ".m4b",
        ".mp4",
        ".aac",
        ".3gp",
        ".3g2",
        ".amr",
        ".wma",
        ".webm",
        ".mka",
        ".caf",
        ".w64",
        ".rf64",
    ]
)
CATALOGUE_SUFFIXES = (".csv", ".jsonl", ".parquet")


class CatalogueError(Exception):
    """A catalogue that cannot be read at all (as opposed to one bad file in it)."""


class CatalogueEntry(NamedTuple):
    path: str  # canonical, stored form (recogenre.analysis.paths)
    track_id: str
    label: str | None = None
    size_bytes: int | None = None  # filled from the filesystem when the match gave none
    mtime: float | None = None  # seconds since the epoch
    # (error_type, message) for an entry the catalogue itself rules out (a duplicate
    # track_id): it becomes an error row without being opened.
    problem: tuple[str, str] | None = None
    # A folder that could not be listed (its problem says why): one error row, and the
    # tracks a previous snapshot had under it are carried over as ``unverified``.
    folder: bool = False
    # The run that first gave this file, as it is now (same size and mtime), its error:
    # set by a nightly run that tries it again, so a new error row keeps that run.
    failed_since: str | None = None


def track_id_for(path: str) -> str:
    """A stable id from the canonical path alone, so re-runs and other runners agree on it."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]


def is_audio_path(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in AUDIO_EXTENSIONS


def kind_of(source: str) -> str:
    """``catalogue``, ``directory``, ``file`` or ``glob``: how ``source`` is to be read.

    An existing local path is what it is -- a folder named ``take[1]`` is a
    folder, with or without a trailing slash; only a local argument that does
    not exist is a glob.
    """
    if is_remote(source):
        if source.lower().endswith(CATALOGUE_SUFFIXES):
            return "catalogue"
        return "glob" if has_glob(source) or is_audio_path(source) else "directory"
    os_path = to_os_path(source)
    if os.path.isdir(os_path):
        return "directory"
    if source.lower().endswith(CATALOGUE_SUFFIXES):
        return "catalogue"
    if os.path.lexists(os_path):
        if is_audio_path(source.rstrip("/")):
            return "file"
        raise CatalogueError(
            f"{source} is neither a folder, a glob, nor a catalogue file ({', '.join(CATALOGUE_SUFFIXES)})"
        )
    if has_glob(source):
        return "glob"
    raise CatalogueError(f"catalogue {source} does not exist")


def directory_pattern(source: str) -> str:
    return source.rstrip("/") + "/**"


def _entry(path: str, size: int | None = None, mtime: float | None = None) -> CatalogueEntry:
    return CatalogueEntry(path, track_id_for(path), None, size, mtime)


UNREADABLE = "unreadable"  # the error type of a file or folder that cannot be read


def _from_listing(item: Listed) -> CatalogueEntry:
    if item.error:
        problem = (UNREADABLE, f"this folder cannot be listed: {item.error}")
        return CatalogueEntry(item.path, track_id_for(item.path), problem=problem, folder=True)
    return _entry(item.path, item.size_bytes, item.mtime)


def read_catalogue_file(source: str) -> list[CatalogueEntry]:
    """Rows of a .csv/.jsonl/.parquet catalogue: ``path`` plus optional ``track_id`` and ``label``.

    Relative paths are taken relative to the catalogue's own folder; local
    paths are made canonical (:func:`recogenre.analysis.paths.canonical_file`). A file
    listed more than once is one entry that keeps the first ``track_id`` and
    the first ``label`` any of its rows gives. A ``track_id`` already used by
    an earlier file (in file order) makes the later file an entry with a
    ``duplicate_track_id`` problem, so it is an error row, not a silent overwrite.
    """
    import pandas as pd

    try:
        with FileSystems.open(source) as f:
            data = io.BytesIO(f.read())
        lower = source.lower()
        if lower.endswith(".csv"):
            frame = pd.read_csv(data, dtype=str, keep_default_na=False)
        elif lower.endswith(".jsonl"):
            frame = pd.read_json(data, lines=True, dtype=False)
        else:
            frame = pd.read_parquet(data)
    except Exception as e:
        raise CatalogueError(f"cannot read catalogue {source}: {error_text(e)}") from None
    if "path" not in frame.columns:
        raise CatalogueError(f"catalogue {source} has no 'path' column (columns: {', '.join(frame.columns)})")
    if is_remote(source):
        base = posixpath.dirname(source)
    else:
        base = canonical_root(os.path.dirname(os.path.abspath(source)))
    merged: dict[str, list] = {}  # path -> [track_id, label], in order of first appearance
    for row in frame.to_dict("records"):
        path = _text(row.get("path"))
        if not path:
            continue
        if is_remote(path):
            pass
        elif is_remote(base):
            path = posixpath.normpath(posixpath.join(base, path))
        else:
            path = canonical_file(os.path.join(base, path))  # both in stored form
        ids = merged.setdefault(path, [None, None])
        ids[0] = ids[0] or _text(row.get("track_id"))
        ids[1] = ids[1] or _text(row.get("label"))
    entries = []
    owner: dict[str, str] = {}  # track_id -> the path that has it
    for path, (given_id, label) in merged.items():
        track_id = given_id or track_id_for(path)
        problem = None
        if track_id in owner:
            problem = ("duplicate_track_id", f"track_id {track_id} is already used by {owner[track_id]}")
            track_id = track_id_for(path)
        else:
            owner[track_id] = path
        entries.append(CatalogueEntry(path, track_id, label, problem=problem))
    return entries


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def entry_from_metadata(m) -> CatalogueEntry:
    return CatalogueEntry(m.path, track_id_for(m.path), None, m.size_in_bytes, m.last_updated_in_seconds)


def first_listing(entries) -> CatalogueEntry:
    """One entry per path; the choice is deterministic so every runner agrees."""
    return min(entries, key=lambda e: (e.track_id, e.label or ""))


class Excluded(NamedTuple):
    """What a listing left out (analysis/exclusions.py): audio-named files, and folders
    not entered (what they hold is not known, so it is not counted)."""

    files: int = 0
    folders: int = 0


def list_entries(source: str, exclusions: Exclusions = DEFAULT) -> list[CatalogueEntry] | None:
    """The entries of a catalogue file or a local source, listed now; None for a remote folder or glob."""
    listing = _listing(source, exclusions)
    return None if listing is None else listing[0]


def _listing(source: str, exclusions: Exclusions) -> tuple[list[CatalogueEntry], Excluded] | None:
    kind = kind_of(source)
    if kind == "catalogue":  # an explicit list: exclusions do not apply (analysis/exclusions.py)
        return read_catalogue_file(source), Excluded()
    if is_remote(source):
        return None
    if kind == "file":
        path = canonical_file(source)
        try:
            st = os.stat(to_os_path(path))
            regular = stat.S_ISREG(st.st_mode)
        except OSError:
            regular = False
        return [_entry(path, st.st_size, st.st_mtime) if regular else _entry(path)], Excluded()
    try:
        if kind == "directory":
            listed = list_folder(canonical_root(source), exclusions)
            listed = [item for item in listed if item.error or item.is_folder or is_audio_path(item.path)]
        else:
            listed = list_glob(source, exclusions)
    except UnlistableRoot as e:
        raise CatalogueError(f"catalogue {e}; refusing to run on a catalogue that cannot be read") from None
    out = [item for item in listed if item.excluded]
    excluded = Excluded(
        sum(not item.is_folder and is_audio_path(item.path) for item in out),
        sum(item.is_folder for item in out),
    )
    return [_from_listing(item) for item in listed if not item.excluded], excluded


def remote_root(source: str) -> str:
    """The folder a remote folder or glob's paths are relative to, for exclusions:
    the folder itself, or the glob's folders before the first one with a glob character."""
    if kind_of(source) == "directory":
        return source.rstrip("/")
    parts = source.split("/")
    fixed = next(i for i, part in enumerate(parts) if has_glob(part) or i == len(parts) - 1)
    return "/".join(parts[:fixed])


def kept_remote(path: str, root: str, exclusions: Exclusions) -> bool:
    """Whether a matched remote file is kept: not excluded below ``root``."""
    return not exclusions.excludes(path[len(root) :].lstrip("/"))


def file_stats(entry: CatalogueEntry) -> CatalogueEntry:
    """The entry with size and mtime from its filesystem, where the match gave none.

    Only ``stat``: nothing here opens the file (a FIFO would block).
    """
    if entry.size_bytes is not None:
        return entry
    try:
        if not is_remote(entry.path):
            st = check_regular(to_os_path(entry.path))
            return entry._replace(size_bytes=st.st_size, mtime=st.st_mtime)
        m = FileSystems.get_filesystem(entry.path).metadata(entry.path)
    except Exception:
        return entry  # decoding will say what is wrong with the path
    return entry._replace(size_bytes=m.size_in_bytes, mtime=m.last_updated_in_seconds)


def content_sha256(path: str) -> str:
    """The file's sha256: what tells a touched-but-identical file from a rewritten one.

    A local path that is not a regular file raises (``NotAFile``) instead of being opened.
    """
    digest = hashlib.sha256()
    with (
        FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        if is_remote(path)
        else open_regular(path) as f
    ):
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Inputs(NamedTuple):
    """What a run will read: the entries listed now (None for a remote folder or glob, which
    the pipeline matches itself), how many distinct files there are, and what was excluded."""

    entries: list[CatalogueEntry] | None
    count: int
    excluded: Excluded = Excluded()


def list_inputs(source: str, exclusions: Exclusions = DEFAULT) -> Inputs:
    """``source``'s files, listed once in the launcher: for progress, a fail-fast check and
    the pipeline's ``ReadCatalogue`` (which gets this very list)."""
    listing = _listing(source, exclusions)
    if listing is not None:
        listed, excluded = listing
        return Inputs(listed, len({e.path for e in listed}), excluded)
    kind = kind_of(source)
    pattern = directory_pattern(source) if kind == "directory" else source
    (result,) = FileSystems.match([pattern])
    paths = {m.path for m in result.metadata_list}
    if kind == "directory":
        paths = {p for p in paths if is_audio_path(p)}
    # A remote match lists everything below the root: excluded folders' files are counted as
    # files (there is no folder to count), and matching them cost nothing but the listing.
    root = remote_root(source)
    kept = {p for p in paths if kept_remote(p, root, exclusions)}
    return Inputs(None, len(kept), Excluded(sum(is_audio_path(p) for p in paths - kept)))
