"""``ReadCatalogue``: what to tag (a folder, a glob, a catalogue file) as one PCollection of entries.

The listing itself is Beam-free (:mod:`recogenre.analysis.catalogue_files`); remote
folders and globs go through Beam's ``fileio`` so every Beam filesystem (``gs://``,
``s3://``, ...) works. Each input file becomes exactly one :class:`CatalogueEntry`;
a path listed twice is read once.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems

from recogenre.analysis.catalogue_files import (
    CatalogueEntry,
    directory_pattern,
    entry_from_metadata,
    first_listing,
    is_audio_path,
    kind_of,
    list_entries,
)

# count_inputs lists the catalogue in the launcher; ReadCatalogue, built right
# after in the same process, takes that very listing so the count it checks
# against and what the pipeline reads are one and the same list of files.
_LISTED: dict[str, list[CatalogueEntry]] = {}


class ReadCatalogue(beam.PTransform):
    """source -> PCollection[CatalogueEntry], one per distinct file."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def expand(self, pbegin):
        listed = _LISTED.pop(self.source, None)
        if listed is None:
            listed = list_entries(self.source)
        if listed is not None:
            entries = pbegin | "Catalogue rows" >> beam.Create(listed)
        else:
            kind = kind_of(self.source)
            pattern = directory_pattern(self.source) if kind == "directory" else self.source
            matched = pbegin | "Match files" >> fileio.MatchFiles(pattern)
            if kind == "directory":
                matched = matched | "Audio only" >> beam.Filter(lambda m: is_audio_path(m.path))
            entries = matched | "To entries" >> beam.Map(entry_from_metadata)
        return (
            entries
            | "Key by path" >> beam.WithKeys(lambda e: e.path)
            | "Read each path once" >> beam.CombinePerKey(first_listing)
            | "Drop keys" >> beam.Values()
        )


def count_inputs(source: str) -> int:
    """How many distinct files ``source`` names; for progress and a fail-fast check."""
    listed = list_entries(source)
    if listed is not None:
        _LISTED[source] = listed
        return len({e.path for e in listed})
    kind = kind_of(source)
    pattern = directory_pattern(source) if kind == "directory" else source
    (result,) = FileSystems.match([pattern])
    paths = {m.path for m in result.metadata_list}
    if kind == "directory":
        paths = {p for p in paths if is_audio_path(p)}
    return len(paths)


