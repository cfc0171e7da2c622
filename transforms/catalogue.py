"""What to tag: a folder, a glob, or a catalogue file, as one PCollection of entries.

Matching goes through Beam's ``fileio`` so every Beam filesystem (local,
``gs://``, ``s3://``, ...) works. Each input file becomes exactly one
:class:`CatalogueEntry`; a path listed twice is read once.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

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
    path: str
    track_id: str
    label: str | None = None
    size_bytes: int | None = None  # filled from the filesystem when the match gave none
    mtime: float | None = None  # seconds since the epoch


def track_id_for(path: str) -> str:
    """A stable id from the path alone, so re-runs and other runners agree on it."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]


def is_audio_path(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in AUDIO_EXTENSIONS


def kind_of(source: str) -> str:
    """``catalogue``, ``directory`` or ``glob``: how ``source`` is to be read."""
    if source.lower().endswith(CATALOGUE_SUFFIXES):
        return "catalogue"
    if any(c in source for c in "*?[") or is_audio_path(source):
        return "glob"  # a single audio file is a glob that matches itself
    if "://" not in source:
        if os.path.isdir(source):
            return "directory"
        if not os.path.exists(source):
            raise CatalogueError(f"catalogue {source} does not exist")
        raise CatalogueError(
            f"{source} is neither a folder, a glob, nor a catalogue file ({', '.join(CATALOGUE_SUFFIXES)})"
        )
    return "directory"


def directory_pattern(source: str) -> str:
    return source.rstrip("/") + "/**"


def read_catalogue_file(source: str) -> list[CatalogueEntry]:
    """Rows of a .csv/.jsonl/.parquet catalogue: ``path`` plus optional ``track_id`` and ``label``.

    Relative paths are taken relative to the catalogue's own folder.
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
        raise CatalogueError(f"cannot read catalogue {source}: {' '.join(str(e).split())}") from None
    if "path" not in frame.columns:
        raise CatalogueError(f"catalogue {source} has no 'path' column (columns: {', '.join(frame.columns)})")
    base = posixpath.dirname(source)
    entries = []
    for row in frame.to_dict("records"):
        path = str(row["path"]).strip()
        if not path:
            continue
        if "://" not in path and not posixpath.isabs(path):
            path = posixpath.normpath(posixpath.join(base, path))
        track_id = _text(row.get("track_id")) or track_id_for(path)
        entries.append(CatalogueEntry(path, track_id, _text(row.get("label"))))
    return entries


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def _entry_from_metadata(m) -> CatalogueEntry:
    return CatalogueEntry(m.path, track_id_for(m.path), None, m.size_in_bytes, m.last_updated_in_seconds)


def _first_listing(entries) -> CatalogueEntry:
    """One entry per path; the choice is deterministic so every runner agrees."""
    return min(entries, key=lambda e: (e.track_id, e.label or ""))


class ReadCatalogue(beam.PTransform):
    """source -> PCollection[CatalogueEntry], one per distinct file."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def expand(self, pbegin):
        kind = kind_of(self.source)
        if kind == "catalogue":
            entries = pbegin | "Catalogue rows" >> beam.Create(read_catalogue_file(self.source))
        else:
            pattern = directory_pattern(self.source) if kind == "directory" else self.source
            matched = pbegin | "Match files" >> fileio.MatchFiles(pattern)
            if kind == "directory":
                matched = matched | "Audio only" >> beam.Filter(lambda m: is_audio_path(m.path))
            entries = matched | "To entries" >> beam.Map(_entry_from_metadata)
        return (
            entries
            | "Key by path" >> beam.WithKeys(lambda e: e.path)
            | "Read each path once" >> beam.CombinePerKey(_first_listing)
            | "Drop keys" >> beam.Values()
        )


def count_inputs(source: str) -> int:
    """How many distinct files ``source`` names; for progress and a fail-fast check."""
    kind = kind_of(source)
    if kind == "catalogue":
        return len({e.path for e in read_catalogue_file(source)})
    pattern = directory_pattern(source) if kind == "directory" else source
    (result,) = FileSystems.match([pattern])
    paths = {m.path for m in result.metadata_list}
    if kind == "directory":
        paths = {p for p in paths if is_audio_path(p)}
    return len(paths)


def file_stats(entry: CatalogueEntry) -> CatalogueEntry:
    """The entry with size and mtime from its filesystem, where the match gave none."""
    if entry.size_bytes is not None:
        return entry
    try:
        m = FileSystems.get_filesystem(entry.path).metadata(entry.path)
    except Exception:
        return entry  # decoding will say what is wrong with the path
    return entry._replace(size_bytes=m.size_in_bytes, mtime=m.last_updated_in_seconds)


def content_sha256(path: str) -> str:
    """The file's sha256: what tells a touched-but-identical file from a rewritten one."""
    digest = hashlib.sha256()
    remote = "://" in path
    with (
        FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        if remote
        else open(path, "rb") as f
    ):
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
