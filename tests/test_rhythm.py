"""Rhythm descriptors (analysis/rhythm.py): known tempi, librosa's own definitions, and the stages that
carry them from the decoded frame to ``tracks.rhythm``."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that
from stage_fakes import FakeCrnnHandler, clicks, melgram, write_clicks

from recogenre.analysis.catalogue_files import CatalogueEntry, track_id_for
from recogenre.analysis.features import FrameFeatures, TrackReader
from recogenre.analysis.frames import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE
from recogenre.analysis.melspec import log_mel
from recogenre.analysis.paths import canonical_file
from recogenre.analysis.rhythm import RHYTHM_COMPONENTS, RHYTHM_SIZE, rhythm_vector
from recogenre.analysis.segments import whole
from recogenre.transforms.audio_frames import AudioToFrames, FrameScore, TrackMeta
from recogenre.transforms.inference import ClassifyFrames
from recogenre.transforms.track_rows import AssembleRows, RunInfo, TrackVectorFn

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "audio"
TEMPO = RHYTHM_COMPONENTS.index("tempo_bpm")
ONSET_RATE = RHYTHM_COMPONENTS.index("onset_rate")
ONSET_MEAN = RHYTHM_COMPONENTS.index("onset_mean")


def frame_rhythm(samples: np.ndarray) -> np.ndarray:
    return rhythm_vector(log_mel(samples[:FRAME_SAMPLES]))


@pytest.mark.parametrize("bpm", [90.0, 140.0])
def test_click_tracks_give_their_tempo_and_onset_rate(bpm):
    v = frame_rhythm(clicks(bpm, FRAME_SECONDS + 1))
    assert v.shape == (RHYTHM_SIZE,) and v.dtype == np.float32 and np.isfinite(v).all()
    assert v[TEMPO] == pytest.approx(bpm, rel=0.03)
    assert v[ONSET_RATE] == pytest.approx(bpm / 60.0, rel=0.08)


def test_tempo_tells_the_two_click_tracks_apart_whatever_the_noise():
    slow = [frame_rhythm(clicks(90.0, FRAME_SECONDS, seed=s))[TEMPO] for s in range(3)]
    fast = [frame_rhythm(clicks(140.0, FRAME_SECONDS, seed=s))[TEMPO] for s in range(3)]
    assert max(slow) < 100 < 125 < min(fast)


def test_the_definition_is_librosas_on_a_real_frame():
    librosa = pytest.importorskip("librosa")
    from librosa.feature import rhythm as librosa_rhythm

    from recogenre.analysis.rhythm import global_tempogram, onset_count, onset_strength

    with TrackReader(str(SHARED / "disco.00000.au")) as reader:
        mel = next(f.melgram for f in reader.frames() if not f.silent)
    env = onset_strength(mel)
    expected_env = librosa.onset.onset_strength(S=mel, sr=SAMPLE_RATE, n_fft=512, hop_length=256)
    np.testing.assert_allclose(env, expected_env, rtol=1e-5, atol=1e-5)
    n = len(expected_env)
    tg = librosa_rhythm.tempogram(onset_envelope=expected_env, sr=SAMPLE_RATE, hop_length=256, win_length=n)
    expected_tg = tg[:, n // 2]  # the column whose window is the whole frame
    np.testing.assert_allclose(global_tempogram(env), expected_tg, atol=1e-6)
    tempo = librosa_rhythm.tempo(tg=expected_tg[:, None], sr=SAMPLE_RATE, hop_length=256)[0]
    assert rhythm_vector(mel)[TEMPO] == pytest.approx(tempo, rel=1e-6)
    onsets = librosa.onset.onset_detect(onset_envelope=expected_env, sr=SAMPLE_RATE, hop_length=256)
    assert onset_count(env) == len(onsets) > 0


def test_a_short_track_is_described_by_its_audio_not_its_padding(tmp_path):
    """A 6-second click track (one zero-padded frame) has the onsets of the same clicks in a whole frame."""
    short = write_clicks(tmp_path / "short.wav", 120.0, 6.0)
    with TrackReader(str(short)) as reader:
        (frame,) = list(reader.frames())
    whole = frame_rhythm(clicks(120.0, FRAME_SECONDS, sample_rate=SAMPLE_RATE))
    assert frame.rhythm[ONSET_RATE] == pytest.approx(whole[ONSET_RATE], rel=0.15)
    assert frame.rhythm[ONSET_MEAN] == pytest.approx(whole[ONSET_MEAN], rel=0.25)
    assert reader.rhythm_cpu_s > 0


def test_audio_to_frames_emits_each_frames_rhythm(tmp_path):
    path = canonical_file(str(write_clicks(tmp_path / "clicks.wav", 140.0, 2 * FRAME_SECONDS + 1)))
    entry = CatalogueEntry(path, track_id_for(path))

    def check(frames):
        assert sorted(f.index for _, f in frames) == [0, 1]
        for _, f in frames:
            assert not f.silent and f.rhythm.shape == (RHYTHM_SIZE,)
            assert f.rhythm[TEMPO] == pytest.approx(140.0, rel=0.03)

    with BeamTestPipeline() as p:
        out = (
            p
            | beam.Create([whole(entry)])
            | beam.ParDo(AudioToFrames()).with_outputs("tracks", "errors", main="frames")
        )
        assert_that(out.frames, check)


def test_classify_frames_keeps_each_frames_rhythm_with_its_scores():
    rhythms = {i: np.arange(RHYTHM_SIZE, dtype=np.float32) + 100 * i for i in range(3)}

    def make(i: int):
        start = i * FRAME_SECONDS
        return "a.wav", FrameFeatures(i, start, start + FRAME_SECONDS, False, melgram(-30.0 + i), rhythms[i])

    def check(scores):
        assert sorted(s.index for _, s in scores) == [0, 1, 2]
        for _, s in scores:
            np.testing.assert_allclose(s.rhythm, rhythms[s.index])

    with BeamTestPipeline() as p:
        out = p | beam.Create([0, 1, 2]) | beam.Map(make) | ClassifyFrames(FakeCrnnHandler(2))
        assert_that(out["scores"], check)


def test_track_rhythm_is_the_share_weighted_mean_of_voting_frames():
    rng = np.random.default_rng(5)
    spans = [(0.0, FRAME_SECONDS), (FRAME_SECONDS, 2 * FRAME_SECONDS), (2 * FRAME_SECONDS, 3 * FRAME_SECONDS)]
    scores = [
        FrameScore(0, *spans[0], True, None),  # silent: no vote, no rhythm
        *(
            FrameScore(
                i,
                *spans[i],
                False,
                tuple(map(float, rng.uniform(0.1, 0.9, 10))),
                tuple(map(float, rng.uniform(-1, 1, 32))),
                tuple(map(float, rng.uniform(0, 200, RHYTHM_SIZE).astype(np.float32))),
            )
            for i in (1, 2)
        ),
    ]
    expected = np.mean([s.rhythm for s in scores[1:]], axis=0)  # whole frames: equal shares
    path = "/lib/a.wav"
    entry = CatalogueEntry(path, track_id_for(path))
    meta = TrackMeta(entry, 3 * FRAME_SECONDS, 12_000, "PCM_16", None, "sha", 3)

    def check(rows):
        (row,) = rows
        assert len(row["rhythm"]) == RHYTHM_SIZE
        np.testing.assert_allclose(row["rhythm"], expected, rtol=1e-6)

    with BeamTestPipeline() as p:
        keyed = p | "Scores" >> beam.Create([(path, s) for s in scores])
        vectors = keyed | beam.CombinePerKey(TrackVectorFn())
        rows = (
            {
                "meta": p | "Meta" >> beam.Create([(path, meta)]),
                "vector": vectors,
                "frames": keyed,
                "errors": p | "Errors" >> beam.Create([]),
            }
            | beam.CoGroupByKey()
            | beam.ParDo(AssembleRows(RunInfo("r", "f" * 64))).with_outputs("frames", "errors", main="tracks")
        )
        assert_that(rows.tracks, check)
