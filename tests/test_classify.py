"""The single-track classifier on the real clips, and the command around it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from recogenre.analysis.aggregate import aggregate, normalise
from recogenre.analysis.classifier import classify_file
from recogenre.analysis.genres import GENRES
from tests.conftest import LABELLED, WEIGHTS, clip, unstamped


@pytest.mark.parametrize("name,label", sorted(LABELLED.items()))
def test_labelled_clips_get_their_genre(name, label, model):
    result = classify_file(clip(name), model)
    assert result.vector.top_genre == label


def test_example_cl_is_classical_narrowly_over_jazz(model):
    vector = classify_file(clip("example_cl.mp3"), model).vector
    ranked = [GENRES[i] for i in np.argsort(-vector.genres)]
    assert ranked[:2] == ["classical", "jazz"]
    assert 0.45 < vector.genres[GENRES.index("classical")] < 0.55
    assert 0.35 < vector.genres[GENRES.index("jazz")] < 0.45


def test_phone_recording_is_decoded_by_ffmpeg(model):
    result = classify_file(clip("1546464360295.3gp"), model)
    assert result.codec.startswith("amr") and len(result.frames) == 2
    assert result.vector.n_silent_frames == 0


def test_short_clip_gives_one_padded_frame_and_a_vector(model):
    result = classify_file(clip("die.au"), model)
    vector = result.vector
    assert len(result.frames) == 1 and vector.n_frames == 1
    assert vector.genres.sum() == pytest.approx(1.0) and (vector.genres > 0).all()


def test_track_vector_is_the_mean_of_normalised_frames(model):
    result = classify_file(clip("example_cl.mp3"), model)
    raw = np.stack([f.raw for f in result.frames])
    assert raw.shape == (6, 10)
    np.testing.assert_allclose(result.vector.genres, (raw / raw.sum(1, keepdims=True)).mean(0), atol=1e-9)
    np.testing.assert_allclose(normalise(raw).sum(1), 1.0)


def test_silent_track_is_silent_not_classical(bad_files, model):
    result = classify_file(bad_files["zeros"], model)
    assert result.vector.silent and result.vector.top_genre is None
    assert result.vector.n_silent_frames == len(result.frames) == 2
    assert aggregate([None, None]).silent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recogenre", "classify", "--weights", str(WEIGHTS), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_json_keeps_going_past_bad_files(bad_files, model):
    good = [clip("disco.00000.au"), clip("die.au")]
    order = [good[0], *bad_files.values(), good[1]]
    proc = run_cli("--json", *order)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    objects = {o["path"]: o for o in map(json.loads, proc.stdout.splitlines())}

    # Good files: the same numbers as the library call, as percentages.
    for path in good:
        want = classify_file(path, model).vector
        got = objects[path]
        assert got["top_genre"] == want.label()  # die.au: "unknown" (confidence below the default)
        assert list(got["genres"]) == list(GENRES)
        np.testing.assert_allclose([got["genres"][g] for g in GENRES], want.genres * 100, atol=1e-6)
        assert sum(got["genres"].values()) == pytest.approx(100.0)
        frame = got["frames"][0]
        assert frame["start_s"] == 0.0 and set(frame) >= {"start_s", "end_s", "scores"}
    assert objects[good[0]]["top_genre"] == "disco"
    assert objects[good[0]]["duration_s"] == pytest.approx(30.12, abs=0.01)

    # All-zero audio is a result: silent, with no genre.
    zeros = objects[bad_files["zeros"]]
    assert zeros["silent"] is True and zeros["top_genre"] is None and zeros["genres"] is None

    # A truncated MP3 has no length field to betray it: what is left is classified.
    truncated = objects[bad_files["truncated"]]
    assert 5 < truncated["duration_s"] < 8 and truncated["genres"]
    assert truncated["top_genre"] in (*GENRES, "unknown")  # a 6 s fragment: most of its frame is padding

    # Everything else: one line on stderr naming the file and the reason.
    errors = [ln for ln in unstamped(proc.stderr).splitlines() if ln.startswith("recogenre: ")]
    failed = [bad_files[k] for k in ("empty", "random", "text", "directory", "missing")]
    assert len(errors) == len(failed)
    for path, line in zip(failed, errors):
        assert line.startswith(f"recogenre: {path}: ")
    assert "empty" in errors[0] and "directory" in errors[3] and "no such file" in errors[4]


def test_cli_text_lists_genres_sorted_with_three_decimals():
    proc = run_cli(clip("metal.00000.au"))
    assert proc.returncode == 0, proc.stderr
    head, *rows = proc.stdout.strip().splitlines()
    assert head.startswith(clip("metal.00000.au")) and "1 frame" in head
    names = [r.split()[0] for r in rows]
    values = [float(r.split()[1].rstrip("%")) for r in rows]
    assert sorted(names) == sorted(GENRES) and names[0] == "metal"
    assert values == sorted(values, reverse=True) and sum(values) == pytest.approx(100, abs=0.01)
    assert all(len(r.split()[1].rstrip("%").split(".")[1]) == 3 for r in rows)
