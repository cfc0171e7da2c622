"""The ``albums`` table as a Beam stage: the run's final tracks rows combined per album.

The grouping and arithmetic are :mod:`recogenre.analysis.albums`'s; this stage only keys
each tracks row by its album and merges the per-album sums Beam's workers built.
"""

from __future__ import annotations

import apache_beam as beam

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE
from recogenre.analysis.albums import AlbumAccumulator, AlbumKey, album_key


class AlbumFn(beam.CombineFn):
    """Tracks rows of one album -> its :class:`AlbumAccumulator` (constant size: sums and counts)."""

    def create_accumulator(self) -> AlbumAccumulator:
        return AlbumAccumulator()

    def add_input(self, acc: AlbumAccumulator, row: dict) -> AlbumAccumulator:
        return acc.add(row)

    def merge_accumulators(self, accs) -> AlbumAccumulator:
        merged = AlbumAccumulator()
        for acc in accs:
            merged.merge(acc)
        return merged

    def extract_output(self, acc: AlbumAccumulator) -> AlbumAccumulator:
        return acc


def _keyed(row: dict) -> tuple[tuple, dict]:
    """(the album's key as a plain tuple, which Beam encodes deterministically, row)."""
    return tuple(album_key(row)), row


def _album_row(keyed: tuple[tuple, AlbumAccumulator], run_id: str, min_confidence: float) -> dict:
    key, acc = keyed
    return acc.row(AlbumKey(*key), run_id, min_confidence)


class AlbumRows(beam.PTransform):
    """Final tracks rows (decoded and carried over, already labelled) -> ``albums`` rows."""

    def __init__(self, run_id: str, min_confidence: float = DEFAULT_MIN_CONFIDENCE):
        super().__init__()
        self.run_id, self.min_confidence = run_id, min_confidence

    def expand(self, tracks):
        return (
            tracks
            | "Key by album" >> beam.Map(_keyed)
            | "Per album" >> beam.CombinePerKey(AlbumFn())
            | "Album rows" >> beam.Map(_album_row, self.run_id, self.min_confidence)
        )
