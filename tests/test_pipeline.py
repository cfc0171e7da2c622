"""The Beam pipeline end to end: real clips, real weights, real runners."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recogenre.analysis.classifier import classify_file
from recogenre.analysis.genres import GENRES
from recogenre.analysis.schemas import RAW_PREFIX
from tests.conftest import (
    AUDIO,
    LABELLED,
    assert_tables_agree,
    clip,
    run_command,
    stored,
    unstamped,
    without_dac_override,
)

RUNNERS = {
    "in-process": ["--direct_num_workers=1"],
    "multi-process": [
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
        "--progress-seconds=1",
    ],
    "portable": ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
}


def run(catalogue: str, out: Path, *beam_args: str, prefix: list[str] | None = None):
    cmd = run_command(catalogue, out, *beam_args)
    return subprocess.run((prefix or []) + cmd, capture_output=True, text=True, timeout=600)


def tables(out: Path) -> dict[str, pd.DataFrame]:
    latest = out / "latest"
    return {
        name: pd.read_parquet(latest / name).sort_values(keys).reset_index(drop=True)
        for name, keys in (
            ("tracks", ["path"]),
            ("frames", ["track_id", "frame_index"]),
            ("errors", ["path"]),
            ("albums", ["album_id"]),
        )
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    outs = {}
    for name, args in RUNNERS.items():
        out = tmp_path_factory.mktemp(name)
        proc = run(str(AUDIO), out, *args)
        assert proc.returncode == 0, proc.stderr[-3000:]
        (out / "stderr.txt").write_text(proc.stderr)
        outs[name] = out
    return outs


def test_progress_lines_come_from_the_workers(runs):
    """Multi-process workers report; the launcher prints done/total, rate and time left."""
    lines = [
        ln
        for ln in unstamped((runs["multi-process"] / "stderr.txt").read_text()).splitlines()
        if ln.startswith("progress: ")
    ]
    assert lines, "no progress line"
    done = [int(ln.split()[1].split("/")[0]) for ln in lines]
    assert done == sorted(done) and done[-1] <= 9 and all(ln.split()[1].endswith("/9") for ln in lines)
    assert all("frames/s" in ln and "left" in ln for ln in lines)
    assert done[-1] > 0


def test_every_clip_is_tagged_with_its_label(runs):
    tracks = tables(runs["in-process"])["tracks"]
    assert sorted(Path(p).name for p in tracks["path"]) == sorted(os.listdir(AUDIO))
    by_name = {Path(p).name: row for p, row in zip(tracks["path"], tracks.to_dict("records"))}
    for name, label in LABELLED.items():
        assert by_name[name]["top_genre"] == label, name
    die = by_name["die.au"]
    assert die["n_frames"] == 1 and die["top_genre"] == "unknown"  # 12.9 s of speech: confidence 0.016
    np.testing.assert_allclose(tracks[list(GENRES)].sum(axis=1), 1.0)
    assert (tracks["top_score"] == tracks[list(GENRES)].max(axis=1)).all()


def test_results_equal_the_single_file_classifier(runs, model):
    t = tables(runs["in-process"])
    for row in t["tracks"].to_dict("records"):
        want = classify_file(row["path"], model)
        np.testing.assert_allclose([row[g] for g in GENRES], want.vector.genres, rtol=0, atol=1e-6)
        assert row["n_frames"] == len(want.frames)
        assert row["duration_s"] == pytest.approx(want.duration_s)
        frames = t["frames"][t["frames"]["track_id"] == row["track_id"]]
        raw = frames[[RAW_PREFIX + g for g in GENRES]].to_numpy()
        np.testing.assert_allclose(raw, np.stack([f.raw for f in want.frames]), rtol=0, atol=1e-6)
        np.testing.assert_allclose(frames["start_s"], [f.start_s for f in want.frames])


@pytest.mark.parametrize("runner", ["multi-process", "portable"])
def test_runners_agree(runs, runner):
    a, b = tables(runs["in-process"]), tables(runs[runner])
    for name in ("tracks", "frames", "albums"):
        assert_tables_agree(a[name], b[name], ignore=("run_id",))
    assert b["errors"].empty


def test_layout_manifest_and_latest(runs):
    out = runs["multi-process"]
    (run_dir,) = (out / "runs").iterdir()
    assert not (run_dir / ".progress").exists()
    assert os.path.islink(out / "latest") and (out / "latest").resolve() == run_dir.resolve()
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".recogenre-run",
        "albums",
        "changes",
        "errors",
        "frames",
        "manifest.json",
        "tracks",
    ]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["run_id"] == run_dir.name
    assert manifest["counts"]["inputs"] == manifest["counts"]["tracks"] == 9
    assert manifest["counts"]["frames"] == len(tables(out)["frames"]) and manifest["counts"]["errors"] == 0
    assert manifest["weights_sha256"] == tables(out)["tracks"]["weights_sha256"].iloc[0]
    assert manifest["audio_hours"] == pytest.approx(tables(out)["tracks"]["duration_s"].sum() / 3600)
    assert manifest["x_realtime"] > 0 and manifest["wall_time_s"] > 0


@pytest.fixture(scope="module")
def messy(tmp_path_factory, bad_files):
    """A catalogue mixing good clips with everything that goes wrong in a real library."""
    d = tmp_path_factory.mktemp("messy")
    odd = d / "Ünïcode folder" / "Café del Mar – track 01.mp3"
    odd.parent.mkdir()
    shutil.copyfile(AUDIO / "bensound-thejazzpiano.mp3", odd)
    locked = d / "locked.au"
    shutil.copyfile(AUDIO / "metal.00000.au", locked)
    locked.chmod(0)
    good = [clip(n) for n in ("disco.00000.au", "die.au", "1546464360295.3gp")] + [str(odd)]
    bad = {k: v for k, v in bad_files.items() if k not in ("zeros", "truncated")}
    bad["locked"] = str(locked)
    rows = [{"path": p, "track_id": f"t{i}", "label": ""} for i, p in enumerate(good + list(bad.values()))]
    rows.append({"path": good[0], "track_id": "t0", "label": ""})  # listed twice
    rows += [
        {"path": bad_files["zeros"], "track_id": "zeros", "label": ""},
        {"path": bad_files["truncated"], "track_id": "trunc", "label": "pop"},
    ]
    catalogue = d / "catalogue.csv"
    pd.DataFrame(rows).to_csv(catalogue, index=False)
    out = d / "out"
    proc = run(
        str(catalogue),
        out,
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
        prefix=without_dac_override(),
    )
    # The paths the tables must hold: as recogenre stores them, whatever spelling was listed.
    return {
        "proc": proc,
        "out": out,
        "good": [stored(p) for p in good],
        "bad": {k: stored(p) for k, p in bad.items()},
        "zeros": stored(bad_files["zeros"]),
        "truncated": stored(bad_files["truncated"]),
    }


def test_bad_files_become_error_rows_and_nothing_is_lost(messy):
    assert messy["proc"].returncode == 0, messy["proc"].stderr[-3000:]
    t = tables(messy["out"])
    tracks, errors = t["tracks"], t["errors"]
    expected_tracks = {*messy["good"], messy["zeros"], messy["truncated"]}
    assert set(tracks["path"]) == expected_tracks
    assert set(errors["path"]) == set(messy["bad"].values())
    # conservation: every distinct input exactly once, in one table or the other; a folder named
    # in a catalogue file (folder.mp3) is an input, so it is an error row ("directory")
    assert len(tracks) + len(errors) == len(expected_tracks) + len(messy["bad"])
    assert not set(tracks["path"]) & set(errors["path"])
    kinds = dict(zip(errors["path"], errors["error_type"]))
    bad = messy["bad"]
    assert kinds[bad["empty"]] == "empty" and kinds[bad["missing"]] == "missing"
    assert kinds[bad["directory"]] == "directory" and kinds[bad["locked"]] == "unreadable"
    assert kinds[bad["random"]] == kinds[bad["text"]] == "not_audio"
    assert (errors["stage"] == "decode").all() and errors["message"].str.len().gt(0).all()
    assert not errors["message"].str.contains("\n").any()
    # silence is a result, not an error, and not "classical"
    zeros = tracks[tracks["path"] == messy["zeros"]].iloc[0]
    assert pd.isna(zeros["top_genre"]) and zeros["n_silent_frames"] == zeros["n_frames"] == 2
    odd = tracks[tracks["path"].str.contains("Café")].iloc[0]
    assert odd["top_genre"] == "jazz" and odd["track_id"] == "t3"
    assert tracks.set_index("track_id").loc["trunc", "label"] == "pop"
    manifest = json.loads((messy["out"] / "latest" / "manifest.json").read_text())
    assert manifest["counts"]["inputs"] == len(tracks) + len(errors)
    assert manifest["counts"]["errors_by_type"]["not_audio"] == 2
    assert os.path.islink(messy["out"] / "latest")


def test_failed_run_leaves_latest_alone(messy):
    out = messy["out"]
    before = os.readlink(out / "latest")
    (out / "runs").chmod(0o555)
    try:
        proc = run(clip("die.au"), out, "--direct_num_workers=1", prefix=without_dac_override())
    finally:
        (out / "runs").chmod(0o755)
    assert proc.returncode != 0
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    assert lines == [f"recogenre: cannot write to output folder {out}: Permission denied"]
    assert os.readlink(out / "latest") == before


def test_missing_catalogue_is_one_clear_message(tmp_path):
    proc = run(str(tmp_path / "nowhere.csv"), tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert unstamped(proc.stderr).strip().startswith("recogenre: cannot read catalogue")
    assert not (tmp_path / "out").exists()


def test_long_files_shared_between_workers_give_the_same_numbers(tmp_path, model):
    """A seekable file cut into segments (each decoded from its own start) matches a
    decode from the beginning: track vectors to 1e-6, frame scores to 1e-5."""
    import soundfile as sf

    lib = tmp_path / "long"
    lib.mkdir()
    stereo, sr = sf.read(AUDIO / "example_cl.mp3", dtype="int16")  # 44.1 kHz stereo, 203 s
    sf.write(lib / "classical.flac", stereo, sr, format="FLAC")
    disco, sr = sf.read(AUDIO / "disco.00000.au", dtype="int16")  # 22.05 kHz mono
    sf.write(lib / "disco-x8.wav", np.tile(disco, 8), sr)
    out = tmp_path / "out"
    proc = run(str(lib), out, "--segment-frames=2", *RUNNERS["multi-process"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    t = tables(out)
    assert len(t["tracks"]) == 2 and t["errors"].empty
    for row in t["tracks"].to_dict("records"):
        want = classify_file(row["path"], model)
        assert row["n_frames"] == len(want.frames) > 2 and row["duration_s"] == pytest.approx(want.duration_s)
        np.testing.assert_allclose([row[g] for g in GENRES], want.vector.genres, rtol=0, atol=1e-6)
        frames = t["frames"][t["frames"]["track_id"] == row["track_id"]]
        assert list(frames["frame_index"]) == list(range(len(want.frames)))
        np.testing.assert_allclose(frames["start_s"], [f.start_s for f in want.frames])
        raw = frames[[RAW_PREFIX + g for g in GENRES]].to_numpy()
        np.testing.assert_allclose(raw, np.stack([f.raw for f in want.frames]), rtol=0, atol=1e-5)
    assert t["tracks"].set_index("track_id")["content_sha256"].str.len().eq(64).all()
