"""Embeddings (gru2's 32 outputs) in the tables and ``recogenre similar`` on a real snapshot."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from recogenre.analysis.classifier import Model, classify_file
from recogenre.analysis.features import TrackReader
from recogenre.analysis.frames import FRAME_SECONDS
from tests.conftest import AUDIO, WEIGHTS, clip, run_in_process, unstamped
from tests.test_backends import EMBEDDING_TOLERANCE  # measured there

LIBRARY = {  # name in the library -> shared clip
    "metal.00000.au": "metal.00000.au",
    "disco.00000.au": "disco.00000.au",
    "copy of disco.au": "disco.00000.au",
    "bensound-actionable.mp3": "bensound-actionable.mp3",
    "die.au": "die.au",
    "example_cl.mp3": "example_cl.mp3",
}


def medley(path: Path) -> None:
    """Three frames: metal, digital silence, disco (a silent frame between two voting ones)."""
    metal, sr = sf.read(AUDIO / "metal.00000.au", dtype="float32")
    disco, sr2 = sf.read(AUDIO / "disco.00000.au", dtype="float32")
    assert sr == sr2
    n = int(FRAME_SECONDS * sr)
    sf.write(path, np.concatenate([metal[:n], np.zeros(n + sr // 10, np.float32), disco]), sr)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("emb")
    library = root / "library"
    library.mkdir()
    for name, source in LIBRARY.items():
        shutil.copyfile(AUDIO / source, library / name)
    medley(library / "medley.wav")
    sf.write(library / "zeros.wav", np.zeros(22050 * 31, np.float32), 22050)
    out = root / "out"
    assert run_in_process(library, out) == 0
    return {"root": root, "library": library, "out": out, "run": (out / "latest").resolve()}


def tables(run: Path) -> dict[str, pd.DataFrame]:
    from recogenre.pipeline.layout import read_tables

    return read_tables(str(run))


def by_name(tracks: pd.DataFrame, name: str) -> pd.Series:
    (row,) = [r for _, r in tracks.iterrows() if Path(r["path"]).name == name]
    return row


def similar(capsys, *args: str) -> tuple[int, str, str]:
    from recogenre.cli import main

    code = main(["similar", *args, "--weights", str(WEIGHTS)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_both_backends_give_the_reference_embedding(model):
    """A few clips here; tests/test_backends.py compares OpenVINO on every frame of the shared clips."""
    from recogenre.analysis.crnn import load_crnn
    from recogenre.analysis.crnn_folded import with_embedding

    frames = []
    for name in ("metal.00000.au", "disco.00000.au", "die.au", "bensound-cute.mp3"):
        with TrackReader(clip(name)) as reader:
            frames += [f.melgram for f in reader.frames() if not f.silent]
    x = np.stack(frames)
    reference = with_embedding(load_crnn(WEIGHTS))
    batches = np.array_split(x, 2)
    want = [np.concatenate(a) for a in zip(*(reference.predict_on_batch(b[..., None]) for b in batches))]
    keras_model = Model(str(WEIGHTS), model.weights_sha256, backend="keras")
    for backend in (model, keras_model):
        outputs = [backend.infer(b) for b in batches]
        scores = np.concatenate([o.scores for o in outputs])
        embeddings = np.concatenate([o.embeddings for o in outputs])
        assert embeddings.shape == (len(x), 32) and embeddings.dtype == np.float32
        np.testing.assert_allclose(scores, want[0], rtol=0, atol=1e-5)  # unchanged by the second output
        np.testing.assert_allclose(embeddings, want[1], rtol=0, atol=EMBEDDING_TOLERANCE)
        np.testing.assert_array_equal(backend.predict(batches[0]), outputs[0].scores)
    assert np.abs(want[1]).max() <= 1.0 and np.abs(want[1]).mean() > 0.1  # tanh-bounded, not degenerate


def test_track_embedding_is_the_mean_of_its_voting_frames(snapshot, model):
    t = tables(snapshot["run"])
    tracks, frames = t["tracks"], t["frames"]
    columns = list(tracks.columns)  # appended after decode_warnings; confidence columns follow it
    assert columns.index("embedding") == columns.index("decode_warnings") + 1
    assert list(frames.columns)[-1] == "embedding"
    for _, row in tracks.iterrows():
        own = frames[frames["track_id"] == row["track_id"]].sort_values("frame_index")
        voting = own[~own["silent"]]
        assert own[own["silent"]]["embedding"].isna().all()
        if voting.empty:  # zeros.wav
            assert row["embedding"] is None and pd.isna(row["top_genre"])
            continue
        assert row["embedding"].dtype == np.float32 and row["embedding"].shape == (32,)
        mean = np.stack(voting["embedding"]).astype(np.float64).mean(axis=0).astype(np.float32)
        np.testing.assert_array_equal(row["embedding"], mean)
        # the single-file classifier (classify, serve) gives the same vector
        want = classify_file(row["path"], model).to_json()["embedding"]
        np.testing.assert_allclose(row["embedding"], want, rtol=0, atol=1e-6)
    medley_row = by_name(tracks, "medley.wav")
    assert (medley_row["n_frames"], medley_row["n_silent_frames"]) == (3, 1)
    assert by_name(tracks, "example_cl.mp3")["n_frames"] == 6


def test_classify_json_has_the_embedding(model):
    result = classify_file(clip("die.au"), model)
    got = result.to_json()
    assert len(got["embedding"]) == 32
    np.testing.assert_array_equal(np.float32(got["embedding"]), result.vector.embedding)
    assert json.loads(json.dumps(got))["embedding"] == got["embedding"]


def test_a_nightly_run_carries_embeddings_over(snapshot, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(snapshot["out"], out, symlinks=True)
    (out / "latest").unlink()
    (out / "latest").symlink_to(Path("runs") / snapshot["run"].name)
    assert run_in_process(snapshot["library"], out) == 0
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["counts"]["unchanged"] == len(LIBRARY) + 2, manifest["counts"]
    assert manifest["counts"]["decoded"] == 0
    before, after = tables(snapshot["run"]), tables((out / "latest").resolve())
    assert (out / "latest").resolve() != snapshot["run"]
    for name, keys in (("tracks", ["path"]), ("frames", ["track_id", "frame_index"])):
        a = before[name].sort_values(keys).reset_index(drop=True)
        b = after[name].sort_values(keys).reset_index(drop=True)
        assert b["embedding"].notna().sum() == a["embedding"].notna().sum() > 0
        for x, y in zip(a["embedding"], b["embedding"]):
            assert (x is None and y is None) or np.array_equal(x, y)


def test_a_copy_is_the_nearest_track_with_cosine_one(snapshot, capsys, tmp_path):
    out = str(snapshot["out"])
    code, text, err = similar(capsys, out, str(snapshot["library"] / "disco.00000.au"), "--json")
    assert code == 0, err
    answer = json.loads(text)
    assert answer["query"]["in_snapshot"] and Path(answer["query"]["path"]).name == "disco.00000.au"
    first = answer["results"][0]
    assert Path(first["path"]).name == "copy of disco.au"
    assert first["score"] == pytest.approx(1.0, abs=1e-6)
    assert all(r["score"] < 0.99 for r in answer["results"][1:])
    # a file not in the snapshot is classified now; its twin in the snapshot comes first
    outside = tmp_path / "not in the library.au"
    shutil.copyfile(AUDIO / "metal.00000.au", outside)
    code, text, err = similar(capsys, out, str(outside), "-k", "2", "--json")
    assert code == 0, err
    answer = json.loads(text)
    assert not answer["query"]["in_snapshot"] and answer["query"]["track_id"] is None
    assert Path(answer["results"][0]["path"]).name == "metal.00000.au"
    assert answer["results"][0]["score"] == pytest.approx(1.0, abs=1e-5)
    assert len(answer["results"]) == 2


def test_metal_neighbours_are_ranked_by_cosine(snapshot, capsys):
    tracks = tables(snapshot["run"])["tracks"]
    metal = by_name(tracks, "metal.00000.au")
    code, text, err = similar(capsys, str(snapshot["out"]), metal["track_id"], "--json", "-k", "50")
    assert code == 0, err
    answer = json.loads(text)
    results = answer["results"]
    # every other track with an embedding (not the query, not the silent zeros.wav), best first
    others = tracks[(tracks["track_id"] != metal["track_id"]) & tracks["embedding"].notna()]
    assert sorted(r["track_id"] for r in results) == sorted(others["track_id"])
    unit = np.stack(others["embedding"]).astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    q = metal["embedding"] / np.linalg.norm(metal["embedding"])
    want = dict(zip(others["track_id"], unit @ q))
    for r in results:
        assert r["score"] == pytest.approx(want[r["track_id"]], abs=1e-6)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))
    # the GTZAN metal clip is nearest the medley that holds a frame of it, then the rock track;
    # the classical piano is farther
    names = [Path(r["path"]).name for r in results]
    assert names[:2] == ["medley.wav", "bensound-actionable.mp3"] and results[1]["top_genre"] == "rock"
    assert names.index("example_cl.mp3") > 1
    # the text output: the same ranking, a line per track
    code, text, err = similar(capsys, str(snapshot["out"]), metal["path"], "-k", "3")
    assert code == 0 and err == ""
    lines = text.splitlines()
    assert lines[0].startswith(f"most similar to {metal['path']} (metal; track {metal['track_id']})")
    assert len(lines) == 4 and lines[1].split()[:2] == ["1", f"{results[0]['score']:.4f}"]


def test_hostile_queries_and_snapshots_get_one_line_and_exit_2(snapshot, capsys, tmp_path):
    out = str(snapshot["out"])
    notes = tmp_path / "notes.mp3"
    notes.write_text("liner notes, not audio\n" * 50)
    noise = tmp_path / "noise.mp3"
    noise.write_bytes(np.random.default_rng(3).bytes(100_000))
    cases = {
        "no such track": ([out, "no-such-track"], "not a track_id or path of the snapshot"),
        "not audio": ([out, str(notes)], "notes.mp3"),
        "random bytes": ([out, str(noise)], "noise.mp3"),
        "silent track": ([out, str(snapshot["library"] / "zeros.wav")], "is silent"),
        "no snapshot": ([str(tmp_path / "nowhere"), "x"], "no snapshot to search"),
        "bad k": ([out, "x", "-k", "0"], "-k must be 1 or more"),
    }
    # a snapshot written before embeddings existed: the same run without the column
    old = tmp_path / "old"
    shutil.copytree(snapshot["run"], old / "runs" / snapshot["run"].name)
    (old / "latest").symlink_to(Path("runs") / snapshot["run"].name)
    for part in (old / "latest" / "tracks").glob("*.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(["embedding"]), part)
    cases["old snapshot"] = ([str(old), "x"], "made before recogenre stored embeddings")
    # a run with no tracks at all
    empty = tmp_path / "empty"
    shutil.copytree(snapshot["run"], empty / "runs" / snapshot["run"].name)
    (empty / "latest").symlink_to(Path("runs") / snapshot["run"].name)
    for part in (empty / "latest" / "tracks").glob("*.parquet"):
        pq.write_table(pq.read_table(part).slice(0, 0), part)
    cases["empty snapshot"] = ([str(empty), "x"], "holds no tracks")
    for what, (args, message) in cases.items():
        code, text, err = similar(capsys, *args)
        assert code == 2, what
        assert text == "" and len(err.splitlines()) == 1 and message in err, (what, err)
        assert unstamped(err).startswith("recogenre: ") and "Traceback" not in err, what


def test_a_track_with_a_name_that_is_not_utf8_is_found_by_its_raw_name(capsys, tmp_path):
    """The shell hands ``similar`` the raw bytes (``$(printf 'bad\\xff\\xfe.au')``); the snapshot stores
    them escaped (analysis/paths.py). Found either way; a bad name matching nothing is one line."""
    from recogenre.analysis.paths import canonical_root, from_os_path

    library = tmp_path / "library"
    library.mkdir()
    raw = os.path.join(os.fsencode(library), b"bad\xff\xfe.au")
    shutil.copyfile(AUDIO / "die.au", raw)
    shutil.copyfile(AUDIO / "metal.00000.au", library / "metal.au")
    out = tmp_path / "out"
    assert run_in_process(library, out) == 0
    capsys.readouterr()  # the run's own summary
    stored = from_os_path(os.path.join(os.fsencode(canonical_root(str(library))), b"bad\xff\xfe.au"))
    assert "\ufffdff\ufffdfe" in stored

    for typed in (os.fsdecode(raw), stored):  # the raw name, and the stored form copied from an output
        code, text, err = similar(capsys, str(out), typed, "--json")
        assert code == 0, err
        answer = json.loads(text)
        assert answer["query"]["in_snapshot"] and answer["query"]["path"] == stored
        assert [r["path"] for r in answer["results"]] == [
            from_os_path(str(canonical_root(str(library))) + "/metal.au")
        ]

    code, text, err = similar(capsys, str(out), os.fsdecode(os.fsencode(tmp_path) + b"/nowhere\xff\xfe.au"))
    assert code == 2 and text == "" and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "nowhere\ufffdff\ufffdfe.au: not a track_id or path of the snapshot" in err
