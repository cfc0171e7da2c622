"""Hostile round 2 (issue 18): ways a run or `tag` lost results or touched what it should not.

Every hostile input is made here: folders that cannot be listed (chmod 000, read by a
process without root's permission override), catalogue roots that vanish or empty,
export paths onto the user's files, a ledger that is a folder, a full disk.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import AUDIO, ROOT, run_command, run_in_process, unstamped, without_dac_override

CLIP = "die.au"  # the shortest clip: these tests are about what happens to files, not genres


def library(tmp_path: Path, sub_files: int = 3) -> Path:
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    shutil.copyfile(AUDIO / CLIP, lib / "top.au")
    for i in range(sub_files):
        shutil.copyfile(AUDIO / CLIP, lib / "sub" / f"s{i}.au")
    return lib


def latest(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / "latest" / name)


def run_without_override(catalogue: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = run_command(catalogue, out, "--direct_num_workers=1", "--progress-seconds=0", *args)
    return subprocess.run(without_dac_override() + cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)


def run_with_unlistable(folder: Path, catalogue: Path, out: Path) -> subprocess.CompletedProcess:
    """``run_without_override`` while ``folder`` cannot be listed (mode 000), restored after."""
    folder.chmod(0)
    try:
        return run_without_override(catalogue, out)
    finally:
        folder.chmod(0o755)


def test_a_folder_that_cannot_be_listed_keeps_its_tracks_unverified(tmp_path):
    lib = library(tmp_path)
    out = tmp_path / "out"
    assert run_in_process(lib, out) == 0
    before = latest(out, "tracks").set_index("path")
    sub = lib / "sub"
    under = sorted(p for p in before.index if p.startswith(f"{sub}/"))
    assert len(under) == 3
    proc = run_with_unlistable(sub, lib, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    tracks = latest(out, "tracks").set_index("path")
    errors = latest(out, "errors")
    changes = latest(out, "changes").set_index("path")
    # The folder is an error row of its own, with its path and errno.
    assert list(errors["path"]) == [str(sub)]
    row = errors.iloc[0]
    assert (row["stage"], row["error_type"]) == ("read", "unreadable")
    assert "Permission denied" in row["message"] and "errno 13" in row["message"]
    # Its tracks are still there, as they were, marked as not verified.
    assert sorted(tracks.index) == sorted(before.index)
    for path in under:
        assert changes.loc[path, "change"] == "unverified"
        assert str(sub) in changes.loc[path, "reason"]
        assert tracks.loc[path, "content_sha256"] == before.loc[path, "content_sha256"]
        assert tracks.loc[path, "top_genre"] == before.loc[path, "top_genre"]
    assert changes.loc[str(lib / "top.au"), "change"] == "unchanged"
    assert "removed" not in set(changes["change"])
    frames = latest(out, "frames")
    assert set(tracks["track_id"]) == set(frames["track_id"])
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["unverified"] == under and manifest["removed"] == []
    assert manifest["counts"]["unverified"] == 3 and manifest["counts"]["unlisted_folders"] == 1
    summary = proc.stdout
    assert "3 unverified" in summary and "0 removed" in summary
    assert "1 folder(s) could not be listed" in summary
    assert "inputs but" not in unstamped(proc.stderr)  # conservation holds, unverified counted
    # Permission back: the tracks are recognised as unchanged, not decoded again.
    assert run_in_process(lib, out) == 0
    changes = latest(out, "changes").set_index("path")
    assert all(changes.loc[path, "change"] == "unchanged" for path in under)
    assert latest(out, "errors").empty


def test_a_catalogue_root_that_cannot_be_listed_is_refused_with_its_errno(tmp_path):
    lib = library(tmp_path, sub_files=0)
    out = tmp_path / "out"
    proc = run_with_unlistable(lib, lib, out)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    assert lines == [
        f"recogenre: catalogue {lib} cannot be listed: Permission denied (EACCES, errno 13); "
        "refusing to run on a catalogue that cannot be read"
    ]
    assert not (out / "runs").exists()


@pytest.mark.parametrize("how", ["gone", "emptied"])
def test_a_catalogue_root_gone_or_emptied_after_a_snapshot_is_refused(tmp_path, how):
    lib = library(tmp_path, sub_files=1)
    out = tmp_path / "out"
    assert run_in_process(lib, out) == 0
    published = os.readlink(out / "latest")
    runs = sorted(p.name for p in (out / "runs").iterdir())
    if how == "gone":
        shutil.rmtree(lib)
    else:  # an unmounted disk: the mount point is still there, empty
        for child in list(lib.iterdir()):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    proc = subprocess.run(
        run_command(lib, out, "--direct_num_workers=1"), capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    gone, emptied = f"recogenre: catalogue {lib} does not exist", f"recogenre: no audio files in {lib}"
    assert lines == [gone if how == "gone" else emptied]
    assert os.readlink(out / "latest") == published
    assert sorted(p.name for p in (out / "runs").iterdir()) == runs


def test_unlistable_folders_are_listed_as_such_in_a_glob_too(tmp_path):
    """The listing itself, read by a process that cannot list the folder."""
    lib = library(tmp_path, sub_files=1)
    (lib / "sub" / "deeper").mkdir()
    shutil.copyfile(AUDIO / CLIP, lib / "sub" / "deeper" / "d.au")
    (lib / "sub").chmod(0)
    script = (
        "import json, sys\n"
        "from recogenre.analysis.catalogue_files import list_entries\n"
        "print(json.dumps([[e.path, e.folder, e.problem] for e in list_entries(sys.argv[1])]))\n"
    )
    try:
        found = {}
        for source in (str(lib), f"{lib}/*.au"):
            proc = subprocess.run(
                [*without_dac_override(), sys.executable, "-c", script, source],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, proc.stderr[-3000:]
            found[source] = json.loads(proc.stdout)
    finally:
        (lib / "sub").chmod(0o755)
    for entries in found.values():
        by_path = {path: (folder, problem) for path, folder, problem in entries}
        assert set(by_path) == {str(lib / "top.au"), str(lib / "sub")}
        folder, problem = by_path[str(lib / "sub")]
        assert folder and problem[0] == "unreadable" and "errno 13" in problem[1]
        assert by_path[str(lib / "top.au")] == (False, None)


# --- tag --export: never onto the user's files ------------------------------------------------


def tree_state(*folders: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below the folders: bytes and mtime, to prove nothing else was touched."""
    state = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                state[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return state


@pytest.fixture(scope="module")
def tagged_run(tmp_path_factory):
    import soundfile as sf

    base = tmp_path_factory.mktemp("export")
    lib = base / "lib"
    (lib / "album").mkdir(parents=True)
    samples, sr = sf.read(AUDIO / "disco.00000.au", dtype="float32")
    sf.write(lib / "f1.flac", samples[: sr * 4], sr)
    sf.write(lib / "album" / "f2.flac", samples[sr * 4 : sr * 8], sr)
    out = base / "out"
    assert run_in_process(lib, out, "--min-confidence", "0") == 0
    return base, lib, out


def tag_cli(capsys, out: Path, *args: str) -> tuple[int, str, str]:
    from recogenre.cli import main

    capsys.readouterr()
    try:
        code = main(["tag", str(out), *args])
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, unstamped(captured.err)


def test_export_refuses_the_catalogue_and_out_even_with_force(tagged_run, capsys):
    base, lib, out = tagged_run
    link = base / "innocent.csv"
    link.symlink_to(lib / "album" / "f2.flac")
    before = tree_state(lib, out)
    for target in (lib / "f1.flac", lib / "album" / "new.csv", out / "genres.csv", link):
        for force in ((), ("--force",)):
            code, stdout, err = tag_cli(capsys, out, "--export", str(target), *force)
            assert code == 2, (target, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"recogenre: tag: --export {target}: ")
            assert "Traceback" not in err and stdout == ""
    assert tree_state(lib, out) == before
    assert not (lib / "album" / "new.csv").exists() and not (out / "genres.csv").exists()
    link.unlink()


def test_export_never_replaces_a_file_without_force_and_writes_atomically(tagged_run, capsys):
    base, lib, out = tagged_run
    elsewhere = base / "exports"
    elsewhere.mkdir()
    precious = elsewhere / "precious.csv"
    precious.write_text("the user's own notes\n")
    before = tree_state(lib, out)
    code, _, err = tag_cli(capsys, out, "--export", str(precious))
    assert (
        code == 2
        and err.strip() == f"recogenre: tag: --export {precious}: the file exists; --force replaces it"
    )
    assert precious.read_text() == "the user's own notes\n"
    # A new file: written by the dry run, and nothing else anywhere.
    fresh = elsewhere / "genres.csv"
    code, _, err = tag_cli(capsys, out, "--export", str(fresh))
    assert code == 0, err
    rows = list(csv.DictReader(fresh.open(newline="")))
    assert sorted(r["path"] for r in rows) == sorted([str(lib / "f1.flac"), str(lib / "album" / "f2.flac")])
    assert sorted(p.name for p in elsewhere.iterdir()) == ["genres.csv", "precious.csv"]  # no temp file
    assert tree_state(lib, out) == before
    # --force replaces it, in one step.
    code, _, err = tag_cli(capsys, out, "--export", str(precious), "--force")
    assert code == 0, err
    assert precious.read_text().splitlines()[0] == "path,genre,confidence"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["genres.csv", "precious.csv"]
    assert tree_state(lib, out) == before


# --- a folder where the tag-write ledger goes ------------------------------------------------


def test_a_folder_in_place_of_the_ledger_is_one_line_for_tag_and_ignored_by_run(tagged_run, capsys):
    _, lib, out = tagged_run
    ledger = out / "tag-writes.jsonl"
    ledger.mkdir()
    try:
        for args in ((), ("--write",)):
            code, stdout, err = tag_cli(capsys, out, *args)
            assert code == 2, err
            assert err.strip().splitlines() == [
                f"recogenre: tag: {ledger} is a folder, not recogenre's ledger of tag writes; "
                "move it away and run tag again"
            ]
            assert stdout == ""
        published = os.readlink(out / "latest")
        capsys.readouterr()
        assert run_in_process(lib, out) == 0
        err = unstamped(capsys.readouterr().err)
        assert "Traceback" not in err
        warnings = [ln for ln in err.splitlines() if "tag-writes.jsonl" in ln]
        assert warnings == [
            f"recogenre: warning: {ledger} is a folder, not recogenre's ledger of tag writes; ignored "
            "(files changed by `recogenre tag` are decoded again)"
        ]
        assert os.readlink(out / "latest") != published
        assert set(latest(out, "changes")["change"]) == {"unchanged"}
        assert ledger.is_dir()  # the user's folder is left alone
    finally:
        ledger.rmdir()


# --- an unknown runner ------------------------------------------------------------------------


@pytest.mark.parametrize("runner", ["NoSuchRunner", "no_such.module.Runner"])
def test_an_unknown_runner_is_a_usage_error_that_leaves_no_folder(tmp_path, runner):
    out = tmp_path / "out"
    cmd = run_command(AUDIO / CLIP, out, "--runner", runner)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"recogenre: --runner {runner}: "), lines
    assert not out.exists()


# --- the run lock on a full disk ----------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path):
    """A real filesystem with no space left: a 64 KiB tmpfs, filled up (needs root to mount)."""
    mount = tmp_path / "full"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        (mount / "out").mkdir()
        with pytest.raises(OSError) as e, open(mount / "filler", "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        assert e.value.errno == 28  # ENOSPC
        yield mount / "out"
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_the_lock_leaves_no_temporary_file_on_a_full_disk(full_disk):
    from recogenre.pipeline.lock import LOCK_NAME, RunLock, acquire_or_reason

    lock = RunLock(str(full_disk))
    reason = acquire_or_reason(lock)
    assert reason == f"cannot write to output folder {full_disk}: No space left on device"
    assert not lock.held
    assert [p.name for p in full_disk.iterdir() if p.name.startswith(LOCK_NAME)] == []


# --- a wrong extension, whichever it is, is one outcome --------------------------------------


def test_misnamed_files_are_skipped_alike_by_tag(tmp_path, capsys):
    import soundfile as sf

    from tests.test_tagging import _encode

    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copyfile(AUDIO / "bensound-cute.mp3", lib / "really_mp3.flac")  # MP3 bytes named .flac
    samples, sr = sf.read(AUDIO / "disco.00000.au", dtype="float32")
    _encode(samples[: sr * 8], sr, lib / "really_m4a.mp3", "aac", sr, "ipod")  # MP4 bytes named .mp3
    out = tmp_path / "out"
    assert run_in_process(lib, out, "--min-confidence", "0") == 0
    assert len(latest(out, "tracks")) == 2  # both decode: the names only mislead the tag writers
    before = tree_state(lib)
    for args in ((), ("--write",)):
        code, stdout, err = tag_cli(capsys, out, *args)
        assert code == 0, err
        lines = dict(line.split(": ", 1) for line in stdout.splitlines() if line.startswith(str(lib)))
        assert lines == {
            str(lib / "really_mp3.flac"): "skipped (its contents (MP3) do not match its name "
            "(Vorbis comment expected))",
            str(lib / "really_m4a.mp3"): "skipped (its contents (MP4) do not match its name (ID3 expected))",
        }
        assert "0 failed" in stdout and "2 skipped" in stdout
        assert tree_state(lib) == before
