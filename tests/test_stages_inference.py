"""``ClassifyFrames`` (RunInference) alone, with a fake model handler: no weights, milliseconds a frame."""

from __future__ import annotations

import apache_beam as beam
import numpy as np
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that, equal_to
from stage_fakes import FAIL_MARK, FAILURE, NAN_MARK, FakeCrnnHandler, fake_outputs, marked, melgram

from recogenre.analysis.catalogue_files import CatalogueEntry
from recogenre.analysis.features import FrameFeatures
from recogenre.analysis.frames import FRAME_SECONDS
from recogenre.transforms.audio_frames import ErrorRow, FrameScore, TrackMeta
from recogenre.transforms.inference import NON_FINITE, ClassifyFrames
from recogenre.transforms.track_rows import ERRORS_TAG, FRAMES_TAG, AssembleRows, RunInfo, TrackVectorFn


def frame(index: int, mel: np.ndarray) -> FrameFeatures:
    return FrameFeatures(index, index * FRAME_SECONDS, (index + 1) * FRAME_SECONDS, False, mel)


def frames_of(p, spec: list[tuple[str, int, str, float]]):
    """(path, index, kind, value) -> (path, FrameFeatures), the log-mels made inside the pipeline:
    ``beam.Create`` pickles (and bz2-compresses) its elements into the graph, seconds for 0.5 MB frames."""

    def make(path: str, index: int, kind: str, value: float):
        return path, frame(index, melgram(value) if kind == "level" else marked(value))

    return p | beam.Create(spec) | "Make log-mels" >> beam.MapTuple(make)


def scores_match(expected: dict[tuple[str, int], float]):
    """A matcher: one FrameScore per expected (path, index) with its position and the fake's
    outputs for the log-mel of that frame's level (levels, not log-mels: the matcher is pickled too)."""

    def check(actual):
        assert sorted((path, s.index) for path, s in actual) == sorted(expected), actual
        for path, score in actual:
            raw, embedding = fake_outputs(melgram(expected[(path, score.index)]))
            assert not score.silent
            assert np.isclose(score.start_s, score.index * FRAME_SECONDS)
            assert np.isclose(score.end_s, (score.index + 1) * FRAME_SECONDS)
            np.testing.assert_allclose(score.raw, raw, rtol=1e-6)
            np.testing.assert_allclose(score.embedding, embedding, rtol=1e-6, atol=1e-7)
            assert len(score.raw) == 10 and len(score.embedding) == 32

    return check


def test_scores_keep_their_frame_and_track_whatever_the_batching():
    levels = {("a.wav", i): -40.0 + 10 * i for i in range(3)} | {("b.wav", i): -5.0 - 7 * i for i in range(2)}
    with BeamTestPipeline() as p:
        frames = frames_of(p, [(path, i, "level", level) for (path, i), level in levels.items()])
        for size in (1, 4):
            out = frames | f"Classify in batches of {size}" >> ClassifyFrames(FakeCrnnHandler(size))
            assert_that(out["scores"], scores_match(levels), label=f"Scores, batches of {size}")
            assert_that(out["errors"], equal_to([]), label=f"No errors, batches of {size}")


def test_a_failing_batch_and_nan_scores_become_error_rows_and_other_frames_come_through():
    levels = {("a.wav", 0): -20.0, ("a.wav", 1): -10.0, ("b.wav", 0): -30.0}
    spec = [(path, i, "level", level) for (path, i), level in levels.items()]
    spec += [("b.wav", 1, "mark", FAIL_MARK), ("c.wav", 0, "mark", NAN_MARK)]

    def errors_match(actual):
        by_path = dict(actual)
        assert sorted(by_path) == ["b.wav", "c.wav"] and len(actual) == 2, actual
        failed, nan = by_path["b.wav"], by_path["c.wav"]
        assert isinstance(failed, ErrorRow)
        assert (failed.path, failed.stage, failed.error_type) == ("b.wav", "classify", "ValueError")
        assert FAILURE in failed.message and "\n" not in failed.message
        assert (nan.path, nan.stage, nan.error_type) == ("c.wav", "classify", NON_FINITE)
        assert "frame 0" in nan.message

    with BeamTestPipeline() as p:
        # batches of one frame: the failure is the marked frame's alone
        out = frames_of(p, spec) | ClassifyFrames(FakeCrnnHandler(1))
        assert_that(out["scores"], scores_match(levels), label="Good frames scored")
        assert_that(out["errors"], errors_match, label="Failed frames as errors")


def test_scores_are_plain_floats_for_the_parquet_rows():
    with BeamTestPipeline() as p:
        out = frames_of(p, [("a.wav", 0, "level", -25.0)]) | ClassifyFrames(FakeCrnnHandler())
        kinds = out["scores"] | beam.MapTuple(
            lambda path, s: (type(s).__name__, {type(v).__name__ for v in s.raw + s.embedding})
        )
        assert_that(kinds, equal_to([(FrameScore.__name__, {"float"})]))


def test_a_track_with_a_failed_batch_becomes_one_error_row_and_the_others_keep_their_rows():
    """ClassifyFrames wired to the row stages as ``pipeline/graph.py`` wires them."""
    spec = [("a.wav", 0, "level", -20.0), ("a.wav", 1, "level", -10.0), ("b.wav", 0, "level", -30.0)]
    spec += [("b.wav", 1, "mark", FAIL_MARK)]
    metas = [
        ("a.wav", TrackMeta(CatalogueEntry("a.wav", "id-a"), 60.0, 12_000, "PCM_16", None, "sha", 2)),
        ("b.wav", TrackMeta(CatalogueEntry("b.wav", "id-b"), 60.0, 12_000, "PCM_16", None, "sha", 2)),
    ]
    run = RunInfo("run", "f" * 64)
    with BeamTestPipeline() as p:
        classified = frames_of(p, spec) | ClassifyFrames(FakeCrnnHandler(1))
        scores = classified["scores"]
        joined = {
            "meta": p | "Metadata" >> beam.Create(metas),
            "vector": scores | beam.CombinePerKey(TrackVectorFn()),
            "frames": scores,
            "errors": classified["errors"],
        } | beam.CoGroupByKey()
        rows = joined | beam.ParDo(AssembleRows(run)).with_outputs(FRAMES_TAG, ERRORS_TAG, main="tracks")
        tracks = rows.tracks | "Track ids" >> beam.Map(lambda r: (r["track_id"], r["n_frames"]))
        assert_that(tracks, equal_to([("id-a", 2)]), label="Tracks")
        frame_ids = rows[FRAMES_TAG] | "Frame ids" >> beam.Map(lambda r: (r["track_id"], r["frame_index"]))
        assert_that(frame_ids, equal_to([("id-a", 0), ("id-a", 1)]), label="Frames")
        errors = rows[ERRORS_TAG] | "Error kinds" >> beam.Map(
            lambda r: (r["path"], r["stage"], r["error_type"])
        )
        assert_that(errors, equal_to([("b.wav", "classify", "ValueError")]), label="Errors")
