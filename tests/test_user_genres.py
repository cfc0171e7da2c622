"""``run --head``: the user's own genres on every track without decoding, refused for a foreign or
damaged head, shown by ``report``, written by ``tag --source user`` and read by the Python API.

The library is generated: click tracks at slow (80-100 bpm) and fast (135-150 bpm) tempi in
``CLASS/ALBUM/`` folders, plus a silent file. The head is learnt by ``recogenre.train`` from the
rhythm column alone, so it can only be right if the rhythm column really carries the tempo.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import mutagen
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from stage_fakes import write_clicks

from recogenre.analysis.head import HEADER
from tests.conftest import ROOT, run_command, run_in_process, stored

SLOW = [80.0, 84.0, 88.0, 92.0, 96.0, 100.0]
FAST = [135.0, 138.0, 141.0, 144.0, 147.0, 150.0]
AUDIBLE = len(SLOW) + len(FAST)  # three albums of two tracks per class
FILES = AUDIBLE + 1  # and a silent file
SECONDS = 8.0  # one zero-padded frame each: a short decode
TAXONOMY = ["fast", "slow"]


def file_of(library: Path, name: str) -> Path:
    return next(library.rglob(f"{name}.flac"))


def expected_class(path: str) -> str:
    return "fast" if Path(path).name.startswith("fast") else "slow"


def make_library(folder: Path) -> Path:
    """``CLASS/ALBUM/NAME.flac`` (``folder:2`` labels, CV grouped by album) and a silent file."""
    for name, tempi in (("slow", SLOW), ("fast", FAST)):
        for i, bpm in enumerate(tempi):
            album = folder / name / f"album{i // 2 + 1}"
            album.mkdir(parents=True, exist_ok=True)
            write_clicks(album / f"{name}{i}.flac", bpm, SECONDS, seed=i + (10 if name == "fast" else 0))
    sf.write(folder / "silence.flac", np.zeros(round(SECONDS * 22_050), np.float32), 22_050)
    tagged = mutagen.File(file_of(folder, "fast3"))  # a genre already there: kept without --overwrite
    tagged["GENRE"] = "Techno"
    tagged.save()
    return folder


def train_head(out: Path, target: Path) -> Path:
    """A head learnt by ``recogenre.train`` from the rhythm column alone, labels from the class folders:
    it can only be right if the rhythm column carries the tempo."""
    import recogenre

    result = recogenre.train(out, "folder:2", target, features="rhythm", min_tracks=3, folds=3, threshold=0.5)
    assert result.head.taxonomy == TAXONOMY
    return Path(result.head_path)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recogenre", *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def manifest(out: Path) -> dict:
    return json.loads((out / "latest" / "manifest.json").read_text())


def tracks_of(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "latest" / "tracks").sort_values("path").reset_index(drop=True)


@pytest.fixture(scope="module")
def snap(tmp_path_factory) -> dict:
    """A first run, a head trained on it, and a second run with ``--head`` on the unchanged library."""
    base = tmp_path_factory.mktemp("user-genres")
    library = make_library(base / "library")
    out = base / "out"
    assert run_in_process(library, out) == 0
    first = manifest(out)["run_id"]
    head = train_head(out, base / "tempo.head")
    assert head.is_file()
    assert run_in_process(library, out, "--head", str(head)) == 0
    return {"base": base, "library": library, "out": out, "head": head, "first": first}


def test_run_head_labels_every_track_and_decodes_nothing(snap):
    m = manifest(snap["out"])
    assert m["previous_run"] == snap["first"]
    assert m["counts"]["decoded"] == 0 and m["counts"]["unchanged"] == FILES
    changes = pd.read_parquet(snap["out"] / "latest" / "changes")
    assert set(changes["change"]) == {"unchanged"}
    tracks = tracks_of(snap["out"])
    audible = tracks[tracks["top_genre"].notna()]
    assert len(audible) == AUDIBLE
    assert list(audible["user_genre"]) == [expected_class(p) for p in audible["path"]]
    for scores, confidence in zip(audible["user_scores"], audible["user_confidence"]):
        assert len(scores) == len(TAXONOMY) and sum(scores) == pytest.approx(1.0, abs=1e-9)
        assert confidence == pytest.approx(max(scores)) and confidence >= 0.5
    assert audible["user_parent"].isna().all()  # a flat taxonomy has no parents
    silent = tracks[tracks["path"] == stored(snap["library"] / "silence.flac")].iloc[0]
    assert all(pd.isna(silent[c]) for c in ("top_genre", "user_genre", "user_confidence", "user_scores"))
    head = m["options"]["head"]
    assert head["sha256"] == hashlib.sha256(snap["head"].read_bytes()).hexdigest()
    assert head["taxonomy"] == TAXONOMY and head["path"] == str(snap["head"])


def test_new_files_get_user_genres_and_a_run_without_head_has_none(snap, tmp_path):
    library = tmp_path / "library"
    shutil.copytree(snap["library"], library)
    out = tmp_path / "out"
    assert run_in_process(library, out, "--head", str(snap["head"])) == 0  # decoded rows
    assert manifest(out)["counts"]["decoded"] == FILES
    first = tracks_of(out)
    audible = first[first["top_genre"].notna()]
    assert list(audible["user_genre"]) == [expected_class(p) for p in audible["path"]]
    write_clicks(library / "fast" / "album1" / "fast9.flac", 142.0, SECONDS, seed=99)
    assert run_in_process(library, out, "--head", str(snap["head"])) == 0  # one decoded, the rest carried
    m = manifest(out)
    assert m["counts"]["decoded"] == 1 and m["counts"]["unchanged"] == FILES
    new = tracks_of(out).set_index("path").loc[stored(file_of(library, "fast9"))]
    assert new["user_genre"] == "fast"
    assert run_in_process(library, out) == 0  # without --head: no user genres, nothing decoded
    assert manifest(out)["counts"]["decoded"] == 0 and manifest(out)["options"]["head"] is None
    assert tracks_of(out)["user_genre"].isna().all()


def rewritten_head(source: Path, target: Path, **changes) -> Path:
    """A copy of the head file with header fields changed (its model and checksum untouched)."""
    with zipfile.ZipFile(source) as z:
        header = json.loads(z.read(HEADER))
        members = {name: z.read(name) for name in z.namelist() if name != HEADER}
    header.update(changes)
    with zipfile.ZipFile(target, "w") as z:
        z.writestr(HEADER, json.dumps(header))
        for name, data in members.items():
            z.writestr(name, data)
    return target


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("other weights", "was trained on features of other CRNN weights"),
        ("other features", "needs the column embedding_std"),
        ("damaged", "is not a recogenre head file or is damaged"),
        ("missing", "does not exist"),
    ],
)
def test_a_foreign_or_damaged_head_is_refused_before_anything_runs(snap, tmp_path, kind, says):
    target = tmp_path / f"{kind.replace(' ', '-')}.head"
    if kind == "other weights":
        rewritten_head(snap["head"], target, weights_sha256="0" * 64)
    elif kind == "other features":
        rewritten_head(snap["head"], target, feature_set="embedding_std")
    elif kind == "damaged":
        target.write_bytes(snap["head"].read_bytes()[:300])
    runs_before = sorted(p.name for p in (snap["out"] / "runs").iterdir())
    cmd = run_command(snap["library"], snap["out"], "--direct_num_workers=1", "--head", str(target))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], proc.stderr
    assert sorted(p.name for p in (snap["out"] / "runs").iterdir()) == runs_before


def test_report_shows_the_user_genre_beside_gtzans(snap, tmp_path):
    from recogenre.apps.report import build_report
    from recogenre.pipeline import layout

    page = tmp_path / "report.html"
    build_report(layout.latest_run(str(snap["out"])), str(tmp_path), str(page))
    text = page.read_text()
    data = json.loads(text.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    names = [Path(p).name for p in tracks_of(snap["out"])["path"]]  # the page's rows, by path
    shown = [None if i < 0 else data["user_genres"][i] for i in data["user"]["genre"]]
    assert data["user_genres"] == TAXONOMY
    assert shown == [None if n == "silence.flac" else expected_class(n) for n in names]
    assert "<dt>your genres</dt>" in text and str(snap["head"]) in text

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed; the report tests need a real browser")
    from tests.snapshots import CHROMIUM_FLAGS

    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
         "--dump-dom", page.as_uri() + "#q=fast0"],
        capture_output=True, text=True, timeout=180,
    ).stdout.split('<script type="application/json"', 1)[0]  # fmt: skip
    assert '<th scope="col" tabindex="0" data-key="user">your genre</th>' in dom
    assert '<dt>your genre</dt><dd>fast (' in dom or ">fast</td>" in dom


def test_api_snapshot_has_user_columns(snap):
    import recogenre

    tracks = recogenre.load_snapshot(snap["out"]).tracks
    assert {"user_genre", "user_confidence", "user_scores", "user_parent", "rhythm"} <= set(tracks.columns)
    assert tracks["user_genre"].notna().sum() == AUDIBLE


def test_tag_source_user_dry_run_then_write(snap):
    library = snap["library"]
    before = {p: p.read_bytes() for p in library.rglob("*.flac")}
    proc = cli("tag", str(snap["out"]), "--source", "user")
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if line.startswith(str(library)))
    assert lines[stored(file_of(library, "fast0"))] == "(none) -> fast"
    assert lines[stored(file_of(library, "slow1"))] == "(none) -> slow"
    assert lines[stored(file_of(library, "fast3"))].startswith("Techno (kept; --overwrite")
    assert lines[stored(library / "silence.flac")] == "skipped (silent: no genre)"
    assert {p: p.read_bytes() for p in library.rglob("*.flac")} == before  # a dry run writes nothing

    proc = cli("tag", str(snap["out"]), "--source", "user", "--write")
    assert proc.returncode == 0, proc.stderr
    for name in ("fast0", "fast1", "slow0", "slow3"):
        assert mutagen.File(file_of(library, name))["GENRE"] == [expected_class(name)]
    assert mutagen.File(file_of(library, "fast3"))["GENRE"] == ["Techno"]
    assert "GENRE" not in (mutagen.File(library / "silence.flac").tags or {})


def test_tag_source_user_needs_user_genres(snap, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(snap["out"], out, symlinks=True)
    first = out / "runs" / snap["first"]  # the run without --head
    (out / "latest").unlink()
    (out / "latest").symlink_to(first.relative_to(out))
    proc = cli("tag", str(out), "--source", "user")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "(`recogenre run --head HEAD` adds them)"
    ), proc.stderr


def test_classify_gives_the_rhythm_the_pipeline_stored(snap):
    """The single-file path shares the aggregation: ``classify --json`` has the tracks row's rhythm."""
    from tests.conftest import classify_json

    path = file_of(snap["library"], "fast1")
    proc = classify_json(path)
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    answer = answer[0] if isinstance(answer, list) else answer
    stored_row = tracks_of(snap["out"]).set_index("path").loc[stored(path)]
    np.testing.assert_allclose(answer["rhythm"], stored_row["rhythm"], rtol=1e-6)
    assert answer["rhythm"][0] == pytest.approx(FAST[1], rel=0.03)  # tempo_bpm
