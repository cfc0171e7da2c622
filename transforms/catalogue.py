"""``ReadCatalogue``: what to tag (a folder, a glob, a catalogue file) as one PCollection of entries.

The listing itself is Beam-free (:mod:`recogenre.analysis.catalogue_files`); remote
folders and globs go through Beam's ``fileio`` so every Beam filesystem (``gs://``,
``s3://``, ...) works. Each input file becomes exactly one :class:`CatalogueEntry`;
a path listed twice is read once.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io import fileio

from recogenre.analysis.catalogue_files import (
    CatalogueEntry,
    directory_pattern,
    entry_from_metadata,
    first_listing,
    is_audio_path,
    kept_remote,
    kind_of,
    list_entries,
    remote_root,
)
from recogenre.analysis.exclusions import DEFAULT, Exclusions


class ReadCatalogue(beam.PTransform):
    """source -> PCollection[CatalogueEntry], one per distinct file."""

    def __init__(
        self, source: str, listed: list[CatalogueEntry] | None = None, exclusions: Exclusions = DEFAULT
    ):
        """``listed``: the entries the launcher listed (``list_inputs``), so that what it counted and
        what the pipeline reads are one list; without it, the source is listed here, leaving out
        what ``exclusions`` rules out (analysis/exclusions.py)."""
        super().__init__()
        self.source, self.listed, self.exclusions = source, listed, exclusions

    def expand(self, pbegin):
        listed = self.listed
        if listed is None:
            listed = list_entries(self.source, self.exclusions)
        if listed is not None:
            entries = pbegin | "Catalogue rows" >> beam.Create(listed)
        else:
            kind = kind_of(self.source)
            pattern = directory_pattern(self.source) if kind == "directory" else self.source
            matched = pbegin | "Match files" >> fileio.MatchFiles(pattern)
            if kind == "directory":
                matched = matched | "Audio only" >> beam.Filter(lambda m: is_audio_path(m.path))
            root, exclusions = remote_root(self.source), self.exclusions
            matched = matched | "Not excluded" >> beam.Filter(lambda m: kept_remote(m.path, root, exclusions))
            entries = matched | "To entries" >> beam.Map(entry_from_metadata)
        return (
            entries
            | "Key by path" >> beam.WithKeys(lambda e: e.path)
            | "Read each path once" >> beam.CombinePerKey(first_listing)
            | "Drop keys" >> beam.Values()
        )
