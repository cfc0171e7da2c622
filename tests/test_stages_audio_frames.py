"""``AudioToFrames`` alone on generated files: frames, track metadata and error elements."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import apache_beam as beam
import numpy as np
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that
from stage_fakes import write_sine

from recogenre.analysis.catalogue_files import CatalogueEntry, track_id_for
from recogenre.analysis.frames import FRAME_SAMPLES, N_MELS, N_STEPS, SAMPLE_RATE
from recogenre.analysis.paths import canonical_file
from recogenre.analysis.segments import DEFAULT_FRAMES_PER_SEGMENT, plan_segments
from recogenre.transforms.audio_frames import (
    ERRORS_TAG,
    TRACKS_TAG,
    AudioToFrames,
    ErrorRow,
    TrackMeta,
    silent_score,
)

SR = 22_050
LONG_S, SHORT_S, SILENT_S = 70.0, 5.0, 40.0


def entry(path) -> CatalogueEntry:
    """What a catalogue file gives for a path (size and mtime are left to the stage)."""
    stored = canonical_file(str(path))
    return CatalogueEntry(stored, track_id_for(stored))


def whole_frames(seconds: float) -> int:
    """Frames of a track at 12 kHz: whole frames only, or one zero-padded frame when shorter."""
    return max(1, round(seconds * SAMPLE_RATE) // FRAME_SAMPLES)


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_files_become_frames_metadata_and_error_rows(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    long = entry(write_sine(lib / "long.wav", LONG_S, SR))
    split = entry(write_sine(lib / "split.wav", LONG_S, SR))  # the same audio, one segment per frame
    short = entry(write_sine(lib / "short.wav", SHORT_S, SR))
    silent = entry(write_sine(lib / "silent.wav", SILENT_S, SR, amp=0.0))
    (lib / "notes.wav").write_text("liner notes, not audio\n" * 50)
    text, missing = entry(lib / "notes.wav"), entry(lib / "missing.flac")
    ruled_out = entry(lib / "twin.wav")._replace(problem=("duplicate_track_id", "track_id x is already used"))
    per_segment = [(e, DEFAULT_FRAMES_PER_SEGMENT) for e in (long, short, silent, text, missing, ruled_out)]
    per_segment.append((split, 1))
    assert len(plan_segments(split, 0.0, 1)) == whole_frames(LONG_S) > 1  # the split really happens
    expected_frames = {
        long.path: whole_frames(LONG_S),
        split.path: whole_frames(LONG_S),
        short.path: 1,
        silent.path: whole_frames(SILENT_S),
    }
    durations = {long.path: LONG_S, split.path: LONG_S, short.path: SHORT_S, silent.path: SILENT_S}

    def check_frames(actual):
        by_path: dict[str, list] = {}
        for path, f in actual:
            by_path.setdefault(path, []).append(f)
        assert {p: len(fs) for p, fs in by_path.items()} == expected_frames
        for path, frames in by_path.items():
            frames.sort(key=lambda f: f.index)
            assert [f.index for f in frames] == list(range(len(frames)))
            for f in frames:
                assert np.isclose(f.start_s, f.index * FRAME_SAMPLES / SAMPLE_RATE)
                end = min((f.index + 1) * FRAME_SAMPLES / SAMPLE_RATE, durations[path])
                assert np.isclose(f.end_s, end, atol=1e-3), (path, f.end_s, end)
                assert f.silent == (path == silent.path)
                if f.silent:
                    assert f.melgram is None
                else:
                    assert f.melgram.shape == (N_MELS, N_STEPS) and f.melgram.dtype == np.float32
                    assert np.isfinite(f.melgram).all()
        # a file split into segments gives the frames of a decode from its start
        for whole, parts in zip(by_path[long.path], by_path[split.path]):
            np.testing.assert_allclose(parts.melgram, whole.melgram, atol=1e-3)

    def check_tracks(actual):
        metas: dict[str, list[TrackMeta]] = {}
        for path, meta in actual:
            metas.setdefault(path, []).append(meta)
        assert sorted(metas) == sorted(expected_frames)
        assert [len(metas[p]) for p in sorted(metas)] == [
            whole_frames(LONG_S) if p == split.path else 1 for p in sorted(metas)
        ]
        for path, segments in metas.items():
            segments.sort(key=lambda m: m.segment)
            st = os.stat(path)
            assert sum(m.n_frames for m in segments) == expected_frames[path]
            for m in segments:
                assert m.entry.path == path and m.entry.size_bytes == st.st_size
                assert m.mtime == dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC)
                assert np.isclose(m.duration_s, durations[path], atol=1e-3)
                assert m.sample_rate == SR and m.codec
                assert m.segments == len(segments) and m.decode_warnings is None
            assert segments[0].content_sha256 == sha256(path)  # segment 0 alone reads the whole file
            assert all(m.content_sha256 == "" for m in segments[1:])

    def check_errors(actual):
        rows = dict(actual)
        assert len(actual) == len(rows) == 3, actual
        assert all(isinstance(row, ErrorRow) and row.path == path for path, row in actual)
        assert (rows[text.path].stage, rows[text.path].error_type) == ("decode", "not_audio")
        assert (rows[missing.path].stage, rows[missing.path].error_type) == ("decode", "missing")
        assert rows[ruled_out.path][1:] == ("read", *ruled_out.problem)  # never opened
        assert all(row.message and "\n" not in row.message for row in rows.values())

    p = BeamTestPipeline()
    segments = p | beam.Create(per_segment) | beam.FlatMapTuple(lambda e, n: plan_segments(e, 0.0, n))
    decoded = segments | beam.ParDo(AudioToFrames()).with_outputs(TRACKS_TAG, ERRORS_TAG, main="frames")
    assert_that(decoded.frames, check_frames, label="Frames")
    assert_that(decoded.tracks, check_tracks, label="Track metadata")
    assert_that(decoded.errors, check_errors, label="Error rows")
    result = p.run()
    result.wait_until_finish()

    def counter(name: str) -> int:
        (found,) = result.metrics().query(MetricsFilter().with_name(name))["counters"]
        return found.committed

    assert counter("tracks_decoded") == len(expected_frames)
    assert counter("tracks_failed") == 3
    assert counter("frames") == sum(expected_frames.values())


def test_cover_tail_adds_one_frame_aligned_to_the_end(tmp_path):
    long = entry(write_sine(tmp_path / "long.wav", LONG_S, SR))
    n = round(LONG_S * SAMPLE_RATE)
    assert n % FRAME_SAMPLES, "the track must leave a remainder for this test"

    def check(actual):
        frames = sorted((f for _, f in actual), key=lambda f: f.index)
        assert len(frames) == whole_frames(LONG_S) + 1
        tail = frames[-1]
        assert np.isclose(tail.start_s, (n - FRAME_SAMPLES) / SAMPLE_RATE, atol=1e-3)
        assert np.isclose(tail.end_s, LONG_S, atol=1e-3)
        assert tail.melgram.shape == (N_MELS, N_STEPS)

    with BeamTestPipeline() as p:
        frames = (
            p
            | beam.Create([long])
            | beam.FlatMap(plan_segments, 0.0, DEFAULT_FRAMES_PER_SEGMENT, None, True)
            | beam.ParDo(AudioToFrames(cover_tail=True)).with_outputs(TRACKS_TAG, ERRORS_TAG, main="frames")
        ).frames
        assert_that(frames, check)


def test_silent_score_keeps_the_frame_position_and_has_no_scores():
    from recogenre.analysis.features import FrameFeatures

    path, score = silent_score(("a.wav", FrameFeatures(3, 87.36, 116.48, True, None)))
    assert path == "a.wav"
    assert (score.index, score.start_s, score.end_s, score.silent, score.raw, score.embedding) == (
        3,
        87.36,
        116.48,
        True,
        None,
        None,
    )
