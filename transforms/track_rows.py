"""Beam stages after the model: per-track aggregation and the output rows.

``TrackVectorFn`` applies :func:`recogenre.analysis.aggregate.aggregate` -- the same
function the single-file classifier uses -- to a track's frames in frame
order, so both give identical numbers. ``AssembleRows`` joins each file's
metadata, vector, frames and errors and enforces the output contract: every
input file ends up exactly once, in ``tracks`` or in ``errors``.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE, TrackVector, aggregate, label, normalise
from recogenre.analysis.genres import GENRES
from recogenre.analysis.schemas import RAW_PREFIX
from recogenre.transforms.audio_frames import ErrorRow, FrameScore, TrackMeta
from recogenre.transforms.user_genres import USER_COLUMNS

FRAMES_TAG = "frames"
ERRORS_TAG = "errors"


class TrackVectorFn(beam.CombineFn):
    """FrameScore* -> TrackVector. Accumulates (index, raw, embedding, start_s, end_s, rhythm): 62 floats a
    frame."""

    def create_accumulator(self) -> list:
        return []

    def add_input(self, acc: list, score: FrameScore) -> list:
        acc.append((score.index, score.raw, score.embedding, score.start_s, score.end_s, score.rhythm))
        return acc

    def merge_accumulators(self, accs) -> list:
        return [item for acc in accs for item in acc]

    def extract_output(self, acc: list) -> TrackVector:
        ordered = sorted(acc, key=lambda item: item[0])
        return aggregate(
            [None if item[1] is None else np.asarray(item[1], np.float32) for item in ordered],
            [None if item[2] is None else np.asarray(item[2], np.float32) for item in ordered],
            spans=[(item[3], item[4]) for item in ordered],
            rhythms=[None if item[5] is None else np.asarray(item[5], np.float32) for item in ordered],
        )


def apply_min_confidence(row: dict, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> dict:
    """A tracks row with ``top_genre`` decided by ``min_confidence`` (``unknown`` below it, or white noise).

    Applied to every row of a run, decoded or carried over, when the rows are
    written: the threshold only relabels, so changing it never classifies a
    track again, and a nightly run relabels carried tracks to the new value.
    """
    genres = None if row.get(GENRES[0]) is None else [row[g] for g in GENRES]
    white_noise = row.get("white_noise")  # absent from a row carried from a snapshot before the column
    return {
        **row,
        "white_noise": white_noise,
        "top_genre": label(genres, row.get("confidence"), min_confidence, white_noise),
    }


class RunInfo(NamedTuple):
    run_id: str
    weights_sha256: str


def embedding_column(values) -> list[float] | None:
    """An embedding (or rhythm) as the Parquet column holds it: float32 values, or null."""
    return None if values is None else [float(v) for v in np.asarray(values, np.float32)]


def _genre_columns(values: np.ndarray | None) -> dict[str, float | None]:
    if values is None:
        return dict.fromkeys(GENRES)
    return {g: float(v) for g, v in zip(GENRES, values)}


class AssembleRows(beam.DoFn):
    """(path, {meta, vector, frames, errors}) -> track row, or one error row.

    Outputs: main = tracks rows; ``frames`` = frame rows; ``errors`` = error rows.
    """

    def __init__(self, run: RunInfo):
        self.run = run
        self.silent_tracks = Metrics.counter("recogenre", "silent_tracks")

    def process(self, joined):
        path, parts = joined
        errors: list[ErrorRow] = list(parts["errors"])
        metas: list[TrackMeta] = list(parts["meta"])
        vectors: list[TrackVector] = list(parts["vector"])
        frames: list[FrameScore] = sorted(parts["frames"], key=lambda f: f.index)
        complete = (
            len(vectors) == 1
            and metas
            and len(metas) == metas[0].segments
            and len(frames) == sum(m.n_frames for m in metas)
        )
        if not errors and not complete:
            errors = [
                ErrorRow(path, "classify", "IncompleteTrack", "not every frame of the track was classified")
            ]
        if errors:
            first = errors[0]
            row = {**first._asdict(), "run_id": self.run.run_id}
            row["first_run_id"] = first.first_run_id or self.run.run_id
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, row)
            return
        meta = min(metas, key=lambda m: m.segment)  # segment 0 holds the fingerprint
        vector = vectors[0]
        if vector.silent:
            self.silent_tracks.inc()
        yield {
            "track_id": meta.entry.track_id,
            "path": path,
            "duration_s": meta.duration_s,
            "n_frames": vector.n_frames,
            "n_silent_frames": vector.n_silent_frames,
            **_genre_columns(vector.genres),
            "top_genre": vector.top_genre,
            "top_score": vector.top_score,
            "label": meta.entry.label,
            "size_bytes": meta.entry.size_bytes,
            "mtime": meta.mtime,
            "content_sha256": meta.content_sha256,
            "sample_rate": meta.sample_rate,
            "codec": meta.codec,
            "weights_sha256": self.run.weights_sha256,
            "run_id": self.run.run_id,
            "decode_warnings": "; ".join(
                m.decode_warnings for m in sorted(metas, key=lambda m: m.segment) if m.decode_warnings
            )
            or None,
            "embedding": embedding_column(vector.embedding),
            "confidence": vector.confidence,
            "analysed_s": vector.analysed_s,
            # every segment judged its own audio: the track is noise when all of it is
            "white_noise": all(m.white_noise for m in metas),
            **meta.tags.columns(),
            "rhythm": embedding_column(vector.rhythm),
            **dict.fromkeys(USER_COLUMNS),  # run --head's, set where rows are labelled (user_genres.py)
        }
        for f in frames:
            raw = None if f.raw is None else np.asarray(f.raw, np.float32)
            yield beam.pvalue.TaggedOutput(
                FRAMES_TAG,
                {
                    "track_id": meta.entry.track_id,
                    "frame_index": f.index,
                    "start_s": f.start_s,
                    "end_s": f.end_s,
                    "silent": f.silent,
                    **_genre_columns(None if raw is None else normalise(raw)),
                    **{RAW_PREFIX + g: v for g, v in _genre_columns(raw).items()},
                    "embedding": embedding_column(f.embedding),
                },
            )
