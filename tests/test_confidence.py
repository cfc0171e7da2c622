"""Issue 12, part 1: a per-track confidence, ``unknown`` below ``--min-confidence``, and coverage.

The confidence is defined once, in ``analysis/aggregate.py``; these tests hold it to
what it is for on the real clips: clips of the ten GTZAN genres keep their genre, the
ukulele clip, a speech sample, generated noise/sine and a short fragment become
``unknown``, with their genre vectors untouched. ``--cover-tail`` adds one frame at the
true end of the track, also when a long file is split into segments, and changes
nothing when it is off.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE, UNKNOWN, aggregate, analysed_seconds
from recogenre.analysis.catalogue_files import CatalogueEntry
from recogenre.analysis.classifier import classify_file
from recogenre.analysis.features import TrackReader
from recogenre.analysis.frames import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE, FrameCutter
from recogenre.analysis.genres import GENRES
from recogenre.analysis.segments import plan_segments
from tests.conftest import AUDIO, LABELLED, ROOT, WEIGHTS, clip, run_command, stored
from tests.serving import running_server
from tests.snapshots import CHROMIUM_FLAGS

OUT_OF_GENRE = ("bensound-cute.mp3", "die.au")  # a ukulele clip and 12.9 s of speech


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, str]:
    """Sounds of no genre and a fragment too short to judge, made from real clips or numbers."""
    d = tmp_path_factory.mktemp("generated")
    sr, rng = 22050, np.random.default_rng(3)
    t = np.arange(31 * sr) / sr
    brown = np.cumsum(rng.standard_normal(len(t)))
    brown -= np.convolve(brown, np.ones(2205) / 2205, "same")
    x, r = sf.read(clip("metal.00000.au"), dtype="float32")
    files = {
        "sine.wav": 0.3 * np.sin(2 * np.pi * 440 * t),
        "brown.wav": brown / np.abs(brown).max() / 3,
        "fragment.wav": x[10 * r : 10 * r + round(0.12 * r)],  # 0.12 s of metal
    }
    for name, samples in files.items():
        sf.write(d / name, samples.astype(np.float32), sr if name != "fragment.wav" else r)
    return {name: str(d / name) for name in files}


def test_confidence_keeps_gtzan_genres_and_calls_the_rest_unknown(model, generated):
    results = {name: classify_file(clip(name), model) for name in os.listdir(AUDIO)}
    results |= {name: classify_file(path, model) for name, path in generated.items()}
    for name, label in LABELLED.items():
        r = results[name]
        assert r.vector.confidence >= DEFAULT_MIN_CONFIDENCE and r.top_genre == label, name
    for name in [*OUT_OF_GENRE, *generated]:
        r = results[name]
        assert r.vector.confidence < DEFAULT_MIN_CONFIDENCE and r.top_genre == UNKNOWN, name
        answer = r.to_json()  # the vector is kept: only the label changes
        assert answer["top_genre"] == UNKNOWN and answer["confidence"] == r.vector.confidence
        np.testing.assert_allclose([answer["genres"][g] for g in GENRES], r.vector.genres * 100)
        assert r.vector.top_genre in GENRES  # the best guess is still there
    # The fragment's one frame is 0.4 % audio: the model's high "classical" is about the padding.
    fragment = results["fragment.wav"]
    assert max(fragment.frames[0].raw) > 0.3 and fragment.vector.confidence < 0.01
    # --min-confidence 0 is the original's behaviour: every audible track gets its arg-max.
    assert all(r.vector.label(0.0) == r.vector.top_genre for r in results.values())


def test_confidence_is_the_chance_of_one_genre_alone_not_the_highest_sigmoid():
    """Two frames the normalised vector cannot tell apart: one genre sure vs. several genres on."""
    sure = np.array([0.6, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01], np.float32)
    many = np.array([0.6, 0.5, 0.5, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01], np.float32)
    a, b = aggregate([sure], spans=[(0.0, FRAME_SECONDS)]), aggregate([many], spans=[(0.0, FRAME_SECONDS)])
    assert a.top_genre == b.top_genre == "blues"
    assert a.confidence == pytest.approx(0.6 * 0.99**9)
    assert b.confidence == pytest.approx(0.6 * 0.25 * 0.99**7)
    half = aggregate([sure], spans=[(0.0, FRAME_SECONDS / 2)])  # a short track: half its frame is padding
    assert half.confidence == pytest.approx(a.confidence / 2) and half.analysed_s == FRAME_SECONDS / 2
    silent = aggregate([None, None], spans=[(0.0, 29.12), (29.12, 58.24)])
    assert silent.confidence is None and silent.label() is None and silent.analysed_s == pytest.approx(58.24)
    assert analysed_seconds([(0, 10), (5, 12), (20, 21)]) == 13


def ramp(n: int) -> list[np.ndarray]:
    """n samples whose values are their positions, in uneven blocks."""
    x = np.arange(n, dtype=np.float32)
    return np.split(x, [1000, 123_456, 400_000, 700_001])


@pytest.mark.parametrize("trim_s", [0.0, 5.0])
def test_tail_frame_ends_where_the_track_ends(trim_s):
    trim = round(trim_s * SAMPLE_RATE)
    n = 2 * FRAME_SAMPLES + 77_777 + 2 * trim
    plain = list(FrameCutter(trim_s).frames(ramp(n)))
    tailed = list(FrameCutter(trim_s, cover_tail=True).frames(ramp(n)))
    assert len(plain) == 2 and len(tailed) == 3
    for a, b in zip(plain, tailed):  # the whole frames are the same frames
        assert (a.index, a.start_s, a.end_s) == (b.index, b.start_s, b.end_s)
        np.testing.assert_array_equal(a.samples, b.samples)
    tail = tailed[-1]
    end = n - trim
    assert tail.index == 2 and tail.n_real == FRAME_SAMPLES
    assert (tail.start_s, tail.end_s) == ((end - FRAME_SAMPLES) / SAMPLE_RATE, end / SAMPLE_RATE)
    np.testing.assert_array_equal(tail.samples, np.arange(end - FRAME_SAMPLES, end, dtype=np.float32))
    # No tail where there is nothing left over, nor for a track shorter than one frame.
    assert len(list(FrameCutter(trim_s, True).frames(ramp(2 * FRAME_SAMPLES + 2 * trim)))) == 2
    short = list(FrameCutter(trim_s, True).frames(ramp(FRAME_SAMPLES // 3)))
    assert len(short) == 1 and short[0].n_real == FRAME_SAMPLES // 3


def test_cover_tail_on_a_203_s_mp3(model):
    plain = classify_file(clip("example_cl.mp3"), model)
    tailed = classify_file(clip("example_cl.mp3"), model, cover_tail=True)
    assert plain.vector.analysed_s == pytest.approx(174.72) and len(plain.frames) == 6
    assert tailed.vector.analysed_s == pytest.approx(tailed.duration_s) and tailed.duration_s > 203
    assert len(tailed.frames) == 7
    last = tailed.frames[-1]
    assert last.index == 6 and last.end_s == pytest.approx(tailed.duration_s)
    assert last.start_s == pytest.approx(tailed.duration_s - FRAME_SECONDS) and last.start_s < 174.72
    for a, b in zip(plain.frames, tailed.frames):
        np.testing.assert_array_equal(a.raw, b.raw)
    assert plain.to_json()["analysed_s"] == pytest.approx(174.72)


def test_tail_frame_is_made_once_when_a_long_file_is_split(tmp_path):
    x, r = sf.read(clip("disco.00000.au"), dtype="float32")
    y, _ = sf.read(clip("metal.00000.au"), dtype="float32")
    path = tmp_path / "long.flac"
    sf.write(path, np.concatenate([x, y, x, y, x, x[: 11 * r]]), r)  # 5 whole frames and 16 s
    entry = CatalogueEntry(str(path), "long")
    segments = plan_segments(entry, 0.0, 2, cover_tail=True)
    assert len(segments) == 3 and [s.tail_samples > 0 for s in segments] == [False, False, True]
    assert plan_segments(entry, 0.0, 2) == [s._replace(tail_samples=0) for s in segments]
    split = []
    for s in segments:
        with TrackReader(str(path), 0.0, (s.first_frame, s.n_frames, s.start_sample, s.tail_samples),
                         cover_tail=True) as reader:  # fmt: skip
            split += list(reader.frames())
    with TrackReader(str(path), cover_tail=True) as reader:
        whole = list(reader.frames())
        duration = reader.duration_s
    assert [f.index for f in split] == [f.index for f in whole] == list(range(6))
    assert [(f.start_s, f.end_s) for f in split] == [(f.start_s, f.end_s) for f in whole]
    assert whole[-1].end_s == pytest.approx(duration)
    for a, b in zip(split, whole):
        np.testing.assert_allclose(a.melgram, b.melgram, atol=1e-3)


# ---- the pipeline, the command line, the service, the report, the evaluation ----


def run(catalogue: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        run_command(catalogue, out, "--direct_num_workers=1", "--progress-seconds", "0", *options),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def latest(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    tracks = pd.read_parquet(out / "latest" / "tracks").set_index("path")
    frames = pd.read_parquet(out / "latest" / "frames")
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    return tracks, frames, manifest


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory) -> dict:
    """One run with --cover-tail over a labelled catalogue, then the same without it."""
    d = tmp_path_factory.mktemp("confidence-run")
    names = {"example_cl.mp3": "classical", "bensound-cute.mp3": "pop", "disco.00000.au": "disco"}
    catalogue = d / "catalogue.csv"
    pd.DataFrame({"path": [clip(n) for n in names], "label": list(names.values())}).to_csv(
        catalogue, index=False
    )
    out = d / "out"
    run(catalogue, out, "--cover-tail")
    tailed = latest(out)
    run(catalogue, out, "--min-confidence", "0")  # cover_tail changed: a full run
    plain = latest(out)
    return {"catalogue": catalogue, "out": out, "tailed": tailed, "plain": plain}


def test_pipeline_writes_confidence_coverage_and_unknown(labelled_run, model):
    tracks, frames, manifest = labelled_run["tailed"]
    names = list(tracks.columns)
    at = names.index("confidence")
    assert names[at : at + 3] == ["confidence", "analysed_s", "white_noise"]  # appended in order
    cute, cl = tracks.loc[stored(clip("bensound-cute.mp3"))], tracks.loc[stored(clip("example_cl.mp3"))]
    assert cute["top_genre"] == UNKNOWN and cute["top_score"] == cute[list(GENRES)].max()  # vector kept
    assert cute["n_frames"] == 2 and cute["analysed_s"] == pytest.approx(cute["duration_s"])
    assert cl["top_genre"] == "classical" and cl["n_frames"] == 7
    assert cl["analysed_s"] == pytest.approx(cl["duration_s"])
    mine = frames[frames["track_id"] == cl["track_id"]].sort_values("frame_index")
    assert list(mine["frame_index"]) == list(range(7))
    assert mine["start_s"].iloc[-1] < mine["end_s"].iloc[-2]  # the tail frame overlaps
    assert mine["end_s"].iloc[-1] == pytest.approx(cl["duration_s"])
    # The same numbers as classify, which shares the definition.
    want = classify_file(clip("example_cl.mp3"), model, cover_tail=True)
    assert cl["confidence"] == pytest.approx(want.vector.confidence, abs=1e-6)
    assert manifest["settings"]["cover_tail"] is True and manifest["options"]["min_confidence"] == 0.06

    tracks, frames, manifest = labelled_run["plain"]
    assert manifest["mode"] == "full run (cover_tail changed)"
    cute, cl = tracks.loc[stored(clip("bensound-cute.mp3"))], tracks.loc[stored(clip("example_cl.mp3"))]
    assert cute["top_genre"] == "classical"  # --min-confidence 0: as the original
    assert cl["n_frames"] == 6 and cl["analysed_s"] == pytest.approx(174.72)
    assert frames["end_s"].max() == pytest.approx(174.72)


def test_changing_min_confidence_relabels_without_decoding(labelled_run):
    out = labelled_run["out"]
    proc = run(labelled_run["catalogue"], out, "--min-confidence", "0.3")
    tracks, _, manifest = latest(out)
    assert manifest["mode"] == "incremental" and manifest["counts"]["decoded"] == 0, proc.stdout
    assert tracks.loc[stored(clip("disco.00000.au")), "top_genre"] == UNKNOWN  # 0.243 < 0.3
    assert tracks.loc[stored(clip("bensound-cute.mp3")), "top_genre"] == UNKNOWN
    assert "unknown 3" in proc.stdout  # the summary's genres line
    before = labelled_run["plain"][0]
    pd.testing.assert_series_equal(tracks["confidence"].sort_index(), before["confidence"].sort_index())


def test_evaluation_and_report_show_unknown(labelled_run, tmp_path):
    from recogenre.apps.evaluate import write_evaluation

    out = labelled_run["out"]
    run(labelled_run["catalogue"], out)  # the default threshold again
    tracks, _, _ = latest(out)
    labels = dict(zip(tracks.index, tracks["label"]))
    summary = write_evaluation(
        str((out / "latest").resolve()), tracks.reset_index(), pd.DataFrame({"path": []}), labels, 0.06
    )
    assert summary["unknown"] == 1 and summary["correct"] == 2 and summary["coverage"] == pytest.approx(2 / 3)
    assert summary["accuracy_of_given"] == 1.0
    assert summary["accuracy_at_min_confidence_0"] == pytest.approx(2 / 3)
    table = pd.read_csv(Path(summary["folder"]) / "confidence.csv").set_index("min_confidence")
    assert list(table.loc[[0.0, 0.06, 0.5], "unknown"]) == [0, 1, 3]
    matrix = pd.read_csv(Path(summary["folder"]) / "confusion_matrix.csv", index_col=0)
    assert matrix.loc["pop", UNKNOWN] == 1

    proc = subprocess.run([sys.executable, "-m", "recogenre", "report", str(out)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = next((out / "reports").glob("*/report.html"))
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', page.read_text()).group(1))
    row = data["tracks"]["name"].index("bensound-cute.mp3")
    assert data["tracks"]["top"][row] == -2 and data["min_confidence"] == 0.06
    chromium = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path}", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri() + f"#t={row}"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert chromium.returncode == 0, chromium.stderr[-3000:]
    drawn = chromium.stdout.split('<script type="application/json"', 1)[0]
    assert "unknown (best guess classical, 31.6%)" in drawn and "(unknown below 6.0%)" in drawn
    assert "analysed</dt><dd>29.1 s of 31.3 s" in drawn


def test_classify_command_shows_confidence_and_checks_the_option():
    cmd = [sys.executable, "-m", "recogenre", "classify", "--weights", str(WEIGHTS)]
    proc = subprocess.run([*cmd, clip("bensound-cute.mp3"), clip("metal.00000.au")], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("(31.3 s, 1 frame; confidence 0.016 < 0.06: unknown; analysed 29.1 s)")
    assert lines[1].split() == ["classical", "31.639%"]  # the best guess, first as before
    assert lines[11].endswith("(30.0 s, 1 frame; confidence 0.593; analysed 29.1 s)")
    proc = subprocess.run([*cmd, "--json", "--min-confidence", "0", clip("bensound-cute.mp3")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    answer = json.loads(proc.stdout)
    assert answer["top_genre"] == "classical" and answer["confidence"] == pytest.approx(0.0157, abs=1e-4)
    bad = subprocess.run([*cmd, "--min-confidence", "2", clip("die.au")], capture_output=True, text=True)
    assert bad.returncode == 2 and "--min-confidence must be a number from 0 to 1" in bad.stderr


def test_serve_takes_the_same_options(tmp_path):
    with running_server(tmp_path, tmp_path / "serve.log", "--cover-tail", "--min-confidence", "0.3") as srv:
        status, _, disco = srv.upload(clip("disco.00000.au"))
        assert status == 200 and disco["top_genre"] == UNKNOWN and disco["confidence"] < 0.3
        status, _, cl = srv.upload(clip("example_cl.mp3"), multipart=False)
    assert status == 200 and len(cl["frames"]) == 7 and cl["analysed_s"] == pytest.approx(cl["duration_s"])
    assert cl["top_genre"] == UNKNOWN  # 0.165 with the tail frame, below 0.3
    assert max(disco["genres"], key=disco["genres"].get) == "disco"
