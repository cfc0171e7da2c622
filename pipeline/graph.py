"""The recogenre pipeline as a composition of named PTransforms.

catalogue -> audio to frames -> CRNN on non-silent frames -> track vectors
          -> one row per file (track or error) -> Parquet
          -> the final tracks rows (decoded and carried) per album -> Parquet
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.io.parquetio import WriteToParquet

from recogenre.analysis import schemas
from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE
from recogenre.analysis.catalogue_files import CatalogueEntry
from recogenre.analysis.exclusions import DEFAULT, Exclusions
from recogenre.analysis.limits import DecodeLimits
from recogenre.analysis.segments import DEFAULT_FRAMES_PER_SEGMENT, plan_segments
from recogenre.transforms.albums import AlbumRows
from recogenre.transforms.audio_frames import ERRORS_TAG, TRACKS_TAG, AudioToFrames, silent_score
from recogenre.transforms.catalogue import ReadCatalogue
from recogenre.transforms.incremental import CarryFrames, PlanChanges, new_file_changes
from recogenre.transforms.inference import ClassifyFrames, CrnnModelHandler
from recogenre.transforms.track_rows import (
    FRAMES_TAG,
    AssembleRows,
    RunInfo,
    TrackVectorFn,
    apply_min_confidence,
)
from recogenre.transforms.user_genres import UserGenres


class OutputDirs(NamedTuple):
    tracks: str
    frames: str
    errors: str
    changes: str
    albums: str


def _is_silent(keyed, n: int) -> int:
    return 0 if keyed[1].silent else 1


class WriteTable(beam.PTransform):
    """Rows -> a Parquet dataset folder with an explicit schema."""

    def __init__(self, folder: str, schema):
        super().__init__()
        self.folder, self.schema = folder, schema

    def expand(self, rows):
        return rows | WriteToParquet(
            f"{self.folder}/part", self.schema, file_name_suffix=".parquet", codec="zstd"
        )


@dataclass(frozen=True)
class GraphSettings:
    """Everything the graph is built from, besides the listing.

    With ``previous_run``, unchanged files are carried over from it (and files whose
    only change is ``recogenre tag``'s write, per ``tag_ledger``).
    """

    source: str
    run: RunInfo
    out: OutputDirs
    handler: CrnnModelHandler
    trim_seconds: float = 0.0
    progress: Any = None  # a ProgressWriter (analysis/progress.py), or None
    previous_run: str | None = None
    full_reason: str = "full run"
    frames_per_segment: int = DEFAULT_FRAMES_PER_SEGMENT
    limits: DecodeLimits | None = None
    tag_ledger: str | None = None
    cover_tail: bool = False
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    exclusions: Exclusions = DEFAULT  # what a listing here leaves out (without the launcher's list)
    retry_errors: bool = False  # try files that failed again even when unchanged
    retry_types: frozenset[str] = frozenset()  # error types to try again (analysis/error_carry.py)
    head: Any = None  # a loaded analysis.head.Head (run --head): user genres on every row


def build(p: beam.Pipeline, settings: GraphSettings, listed: list[CatalogueEntry] | None = None) -> None:
    """The whole graph. ``listed``: the catalogue's entries as the launcher listed them
    (``analysis.catalogue_files.list_inputs``); None lists (or matches) ``settings.source`` here."""
    s = settings
    source, run, out, handler, progress = s.source, s.run, s.out, s.handler, s.progress
    trim_seconds, previous_run, limits, cover_tail = s.trim_seconds, s.previous_run, s.limits, s.cover_tail
    entries = p | "Read catalogue" >> ReadCatalogue(source, listed, s.exclusions)
    if previous_run:
        plan = entries | "Plan changes" >> PlanChanges(
            previous_run, run.run_id, s.tag_ledger, progress, s.retry_errors, s.retry_types
        )
        to_decode, changes = plan["decode"], plan["changes"]
        carried_errors = [plan["carried_errors"]]
        carried_tracks = [plan["carried"] | "Carried tracks" >> beam.Values()]
        carried_frames = [plan["carried"] | "Carry frames" >> CarryFrames(previous_run)]
    else:
        to_decode = entries
        changes = entries | "All new" >> beam.Map(new_file_changes, run.run_id, s.full_reason)
        carried_tracks = carried_frames = carried_errors = []
    segments = (
        to_decode
        | "Plan segments" >> beam.FlatMap(
            plan_segments, trim_seconds, s.frames_per_segment, limits, cover_tail
        )
        | "Spread segments" >> beam.Reshuffle()
    )
    decoded = segments | "Audio to frames" >> beam.ParDo(
        AudioToFrames(trim_seconds, progress, limits, cover_tail)
    ).with_outputs(TRACKS_TAG, ERRORS_TAG, main="frames")
    silent, audible = decoded.frames | "Silent or not" >> beam.Partition(_is_silent, 2)
    classified = audible | "Classify frames" >> ClassifyFrames(handler, progress)
    scores = (silent | "Silent frames" >> beam.Map(silent_score), classified["scores"]) | "Frame scores" >> (
        beam.Flatten()
    )
    vectors = scores | "Track vectors" >> beam.CombinePerKey(TrackVectorFn())
    errors = (decoded.errors, classified["errors"]) | "All errors" >> beam.Flatten()
    rows = (
        {"meta": decoded.tracks, "vector": vectors, "frames": scores, "errors": errors}
        | "Join per file" >> beam.CoGroupByKey()
        | "Assemble rows" >> beam.ParDo(AssembleRows(run)).with_outputs(FRAMES_TAG, ERRORS_TAG, main="tracks")
    )
    tracks = (
        (rows.tracks, *carried_tracks)
        | "All tracks" >> beam.Flatten()
        | "Label tracks" >> beam.Map(apply_min_confidence, s.min_confidence)
        | "User genres" >> UserGenres(s.head)
    )
    frames = (rows.frames, *carried_frames) | "All frames" >> beam.Flatten()
    albums = tracks | "Albums" >> AlbumRows(run.run_id, s.min_confidence)
    tracks | "Write tracks" >> WriteTable(out.tracks, schemas.TRACKS)
    albums | "Write albums" >> WriteTable(out.albums, schemas.ALBUMS)
    frames | "Write frames" >> WriteTable(out.frames, schemas.FRAMES)
    all_errors = (rows.errors, *carried_errors) | "All error rows" >> beam.Flatten()
    all_errors | "Write errors" >> WriteTable(out.errors, schemas.ERRORS)
    changes | "Write changes" >> WriteTable(out.changes, schemas.CHANGES)
