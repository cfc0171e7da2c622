"""``TrackVectorFn`` and ``AssembleRows`` alone: frame scores, metadata and errors -> the output rows.

The inputs are what the stages before them emit (``FrameScore``, ``TrackMeta``,
``ErrorRow``), made here; the expected numbers are computed in this file from
the aggregation's definition (``analysis/aggregate.py``'s docstring), not by
calling it.
"""

from __future__ import annotations

import datetime as dt

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that, equal_to

from recogenre.analysis import schemas
from recogenre.analysis.aggregate import UNKNOWN
from recogenre.analysis.catalogue_files import CatalogueEntry, track_id_for
from recogenre.analysis.frames import FRAME_SECONDS
from recogenre.analysis.genres import GENRES
from recogenre.analysis.schemas import RAW_PREFIX
from recogenre.transforms.audio_frames import ErrorRow, FrameScore, TrackMeta
from recogenre.transforms.track_rows import (
    ERRORS_TAG,
    FRAMES_TAG,
    AssembleRows,
    RunInfo,
    TrackVectorFn,
    apply_min_confidence,
)

RUN = RunInfo("2026-01-01T00-00-00", "f" * 64)
MTIME = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
RNG = np.random.default_rng(19)


def scored(index: int) -> FrameScore:
    raw = RNG.uniform(0.01, 0.99, len(GENRES)).astype(np.float32)
    embedding = RNG.uniform(-1, 1, 32).astype(np.float32)
    start = index * FRAME_SECONDS
    return FrameScore(
        index, start, start + FRAME_SECONDS, False, tuple(map(float, raw)), tuple(map(float, embedding))
    )


def silent(index: int) -> FrameScore:
    return FrameScore(index, index * FRAME_SECONDS, (index + 1) * FRAME_SECONDS, True, None)


def meta(
    path: str, n_frames: int, segment: int = 0, segments: int = 1, warnings: str | None = None
) -> TrackMeta:
    entry = CatalogueEntry(path, track_id_for(path), "rock", 1234, MTIME.timestamp())
    sha = "" if segment else f"sha-of-{path}"
    return TrackMeta(entry, 90.0, 44_100, "PCM_16", MTIME, sha, n_frames, segment, segments, warnings)


def expected_vector(frames: list[FrameScore]) -> dict:
    """The aggregation by its definition: votes of the non-silent frames, each normalised to sum 1."""
    voting = [f for f in frames if not f.silent]
    if not voting:
        return {"genres": None, "confidence": None, "embedding": None}
    raw = np.array([f.raw for f in voting], np.float64)
    genres = (raw / raw.sum(axis=1, keepdims=True)).mean(axis=0)
    top = int(np.argmax(genres))
    alone = [r[top] * np.prod([1 - r[g] for g in range(len(GENRES)) if g != top]) for r in raw]
    shares = [(f.end_s - f.start_s) / FRAME_SECONDS for f in voting]
    embedding = np.mean([f.embedding for f in voting], axis=0)
    confidence = float(np.mean(np.multiply(alone, shares)))
    return {"genres": genres, "confidence": confidence, "embedding": embedding}


FRAMES = {
    "mixed.wav": [silent(0), scored(1), scored(2)],
    "quiet.wav": [silent(0), silent(1)],
    "segmented.wav": [scored(0), scored(1)],
    "failed.wav": [scored(0)],  # its frame 1 failed in the model
    "incomplete.wav": [scored(0), scored(1)],  # its metadata says 3 frames
}
METAS = [
    meta("mixed.wav", 3),
    meta("quiet.wav", 2),
    meta("segmented.wav", 1, 0, 2, "skipped 1 damaged packet"),
    meta("segmented.wav", 1, 1, 2, "missed 3 samples"),
    meta("failed.wav", 2),
    meta("incomplete.wav", 3),
]
ERRORS = [
    ("failed.wav", ErrorRow("failed.wav", "classify", "ValueError", "the model failed")),
    ("broken.wav", ErrorRow("broken.wav", "decode", "not_audio", "not an audio file", 99, MTIME, "run-0")),
]
EXPECTED = {path: expected_vector(frames) for path, frames in FRAMES.items()}


def check_tracks(rows):
    assert sorted(r["path"] for r in rows) == ["mixed.wav", "quiet.wav", "segmented.wav"]
    pa.Table.from_pylist(rows, schemas.TRACKS)  # every row fits the output contract
    for row in rows:
        assert set(row) == set(schemas.TRACKS.names)
        path, want = row["path"], EXPECTED[row["path"]]
        frames = FRAMES[path]
        assert row["track_id"] == track_id_for(path) and row["run_id"] == RUN.run_id
        assert row["weights_sha256"] == RUN.weights_sha256 and row["label"] == "rock"
        assert (row["n_frames"], row["n_silent_frames"]) == (len(frames), sum(f.silent for f in frames))
        assert np.isclose(row["analysed_s"], len(frames) * FRAME_SECONDS)
        assert row["content_sha256"] == f"sha-of-{path}"  # segment 0's, whatever the order
        if want["genres"] is None:
            assert all(row[g] is None for g in GENRES)
            assert row["top_genre"] is row["top_score"] is row["confidence"] is row["embedding"] is None
            continue
        np.testing.assert_allclose([row[g] for g in GENRES], want["genres"], rtol=1e-6)
        assert np.isclose(sum(row[g] for g in GENRES), 1.0)
        assert row["top_genre"] == GENRES[int(np.argmax(want["genres"]))]
        assert np.isclose(row["top_score"], want["genres"].max())
        assert np.isclose(row["confidence"], want["confidence"], rtol=1e-5)
        np.testing.assert_allclose(row["embedding"], want["embedding"], rtol=1e-5, atol=1e-6)
    (segmented,) = [r for r in rows if r["path"] == "segmented.wav"]
    assert segmented["decode_warnings"] == "skipped 1 damaged packet; missed 3 samples"


def check_frames(rows):
    pa.Table.from_pylist(rows, schemas.FRAMES)
    by_key = {(r["track_id"], r["frame_index"]): r for r in rows}
    kept = ["mixed.wav", "quiet.wav", "segmented.wav"]
    assert sorted(by_key) == sorted((track_id_for(p), f.index) for p in kept for f in FRAMES[p])
    for path in kept:
        for f in FRAMES[path]:
            row = by_key[(track_id_for(path), f.index)]
            assert set(row) == set(schemas.FRAMES.names)
            assert (row["start_s"], row["end_s"], row["silent"]) == (f.start_s, f.end_s, f.silent)
            if f.silent:
                assert all(row[g] is None and row[RAW_PREFIX + g] is None for g in GENRES)
                assert row["embedding"] is None
                continue
            np.testing.assert_allclose([row[RAW_PREFIX + g] for g in GENRES], f.raw, rtol=1e-6)
            np.testing.assert_allclose([row[g] for g in GENRES], np.divide(f.raw, sum(f.raw)), rtol=1e-6)
            np.testing.assert_allclose(row["embedding"], f.embedding, rtol=1e-6)


def check_errors(rows):
    pa.Table.from_pylist(rows, schemas.ERRORS)
    by_path = {r["path"]: r for r in rows}
    assert len(rows) == len(by_path) == 3, rows
    # A new error's first run is this one; one tried again keeps the run it first failed in.
    this_run = {"run_id": RUN.run_id, "first_run_id": RUN.run_id}
    assert by_path["failed.wav"] == {**ERRORS[0][1]._asdict(), **this_run}
    assert by_path["broken.wav"] == {**ERRORS[1][1]._asdict(), "run_id": RUN.run_id}
    assert (by_path["broken.wav"]["first_run_id"], by_path["broken.wav"]["size_bytes"]) == ("run-0", 99)
    incomplete = by_path["incomplete.wav"]
    assert (incomplete["stage"], incomplete["error_type"]) == ("classify", "IncompleteTrack")


def test_every_file_ends_up_once_as_a_track_row_or_an_error_row():
    # frames arrive in any order, as they come out of several workers
    scores = [(path, f) for path, frames in FRAMES.items() for f in reversed(frames)]
    with BeamTestPipeline() as p:
        frames = p | "Frames" >> beam.Create(scores)
        vectors = frames | "Track vectors" >> beam.CombinePerKey(TrackVectorFn())
        joined = {
            "meta": p | "Metadata" >> beam.Create([(m.entry.path, m) for m in METAS]),
            "vector": vectors,
            "frames": frames,
            "errors": p | "Errors" >> beam.Create(ERRORS),
        } | beam.CoGroupByKey()
        rows = joined | beam.ParDo(AssembleRows(RUN)).with_outputs(FRAMES_TAG, ERRORS_TAG, main="tracks")
        assert_that(rows.tracks, check_tracks, label="Track rows")
        assert_that(rows[FRAMES_TAG], check_frames, label="Frame rows")
        assert_that(rows[ERRORS_TAG], check_errors, label="Error rows")


def test_track_vector_merges_accumulators_in_any_order():
    fn = TrackVectorFn()
    frames = FRAMES["mixed.wav"] + [scored(3), silent(4)]
    whole = fn.extract_output(fn.add_inputs(fn.create_accumulator(), frames))
    parts = [fn.add_inputs(fn.create_accumulator(), frames[k::2]) for k in (1, 0)]
    merged = fn.extract_output(fn.merge_accumulators(parts))
    want = expected_vector(frames)
    for vector in (whole, merged):
        assert (vector.n_frames, vector.n_silent_frames) == (5, 2)
        np.testing.assert_allclose(vector.genres, want["genres"], rtol=1e-6)
        np.testing.assert_allclose(vector.embedding, want["embedding"], rtol=1e-5, atol=1e-6)
        assert np.isclose(vector.confidence, want["confidence"], rtol=1e-5)
    np.testing.assert_array_equal(merged.embedding, whole.embedding)  # summed in float64: order-free


def test_min_confidence_relabels_rows_only():
    confident = EXPECTED["mixed.wav"]
    threshold = confident["confidence"] * 2  # above this track's confidence
    row = {g: float(v) for g, v in zip(GENRES, confident["genres"])} | {"confidence": confident["confidence"]}
    silent_row = dict.fromkeys(GENRES) | {"confidence": None}
    with BeamTestPipeline() as p:
        labels = (
            p
            | beam.Create([row, silent_row])
            | beam.Map(apply_min_confidence, threshold)
            | beam.Map(lambda r: (r["top_genre"], r["confidence"]))
        )
        assert_that(labels, equal_to([(UNKNOWN, row["confidence"]), (None, None)]))
    top = GENRES[int(np.argmax(confident["genres"]))]
    assert apply_min_confidence(row, confident["confidence"] / 2)["top_genre"] == top
