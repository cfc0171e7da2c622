"""A messy folder: special files, symlinks, glob characters and undecodable names.

Every entry is generated here. What must hold: nothing blocks, nothing fails
the run, and every audio-named entry is in ``tracks`` or ``errors`` exactly once,
under a ``path`` that opens the file again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pandas as pd
import pytest

from recogenre.analysis.catalogue_files import content_sha256, file_stats, kind_of, list_entries, track_id_for
from recogenre.analysis.decode import AudioError, AudioStream, decode
from recogenre.analysis.paths import ESCAPE, NotAFile, from_os_path, to_os_bytes, to_os_path
from recogenre.analysis.segments import plan_segments
from tests.conftest import AUDIO, run_command

NAMES = [
    b"plain.mp3",
    "caf\u00e9 \u266b.flac".encode(),  # valid UTF-8: stored unchanged
    b"caf\xe9.au",  # Latin-1
    b"\xff\xfe.wav",
    b"lone\xed\xa0\x80.au",  # an encoded surrogate is not valid UTF-8
    b"replacement\xef\xbf\xbd.au",  # a literal U+FFFD
    b"\xf0\x9f\x8e\xb5 and \xc3.mp3",  # 4-byte character, then a truncated one
]


def test_stored_paths_are_utf8_and_reversible():
    stored = [from_os_path(b"/music/" + name) for name in NAMES]
    assert len(set(stored)) == len(NAMES)
    for name, text in zip(NAMES, stored):
        text.encode("utf-8")  # valid UTF-8, as Parquet needs
        assert to_os_bytes(text) == b"/music/" + name
        assert os.fsencode(to_os_path(text)) == b"/music/" + name
    assert stored[0] == "/music/plain.mp3" and stored[1] == "/music/caf\u00e9 \u266b.flac"
    assert stored[2] == f"/music/caf{ESCAPE}e9.au"
    assert to_os_path("gs://bucket/a.mp3") == "gs://bucket/a.mp3"


def test_a_file_with_an_undecodable_name_is_read_through_its_stored_path(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.au"
    shutil.copyfile(AUDIO / "die.au", raw)
    stored = from_os_path(raw)
    assert stored == f"{tmp_path}/caf{ESCAPE}e9.au"
    info, audio = decode(stored)
    assert info.decoder == "libsndfile" and len(audio) == pytest.approx(12000 * 12.9, rel=0.01)
    assert content_sha256(stored) == hashlib.sha256((AUDIO / "die.au").read_bytes()).hexdigest()
    assert file_stats(list_entries(stored)[0]).size_bytes == os.path.getsize(raw)


def test_an_existing_folder_with_glob_characters_is_a_folder(tmp_path, copy_clip):
    inside = copy_clip("die.au", "take[1]/die.au")
    copy_clip("die.au", "take1/other.au")  # what the glob take[1] would match
    copy_clip("die.au", "what?*/x.au")
    for source in (tmp_path / "take[1]", f"{tmp_path / 'take[1]'}/"):
        assert kind_of(str(source)) == "directory"
        assert [e.path for e in list_entries(str(source))] == [inside]
    assert [e.path for e in list_entries(f"{tmp_path / 'what?*'}/")] == [str(tmp_path / "what?*" / "x.au")]
    # Not an existing path: a glob, with Beam's syntax.
    assert kind_of(str(tmp_path / "take?")) == "glob"
    assert [e.path for e in list_entries(str(tmp_path / "take?/*.au"))] == [str(tmp_path / "take1/other.au")]
    assert [e.path for e in list_entries(str(tmp_path / "take[1]/*.au"))] == [inside]  # an existing folder


@pytest.fixture
def fifo(tmp_path) -> str:
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    yield str(path)
    with contextlib.suppress(OSError):  # unblock a reader the code under test might have left behind
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def returns_promptly(fn, *args):
    """fn(*args) in a thread: its result or exception, failing the test if it blocks."""
    out: dict = {}

    def call():
        try:
            out["value"] = fn(*args)
        except BaseException as e:
            out["error"] = e

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), f"{fn.__name__} blocked on a FIFO"
    return out


def test_a_fifo_is_never_opened(fifo):
    entry = list_entries(fifo)[0]
    assert entry.path == fifo and entry.size_bytes is None
    assert returns_promptly(file_stats, entry)["value"] == entry
    assert isinstance(returns_promptly(content_sha256, fifo)["error"], NotAFile)
    assert len(returns_promptly(plan_segments, entry, 0.0, 1)["value"]) == 1

    def decode(path):
        with AudioStream(path):
            pass

    error = returns_promptly(decode, fifo)["error"]
    assert isinstance(error, AudioError) and error.kind == "not_a_file"


def build_messy_library(root: Path) -> dict[str, str | None]:
    """The library under ``root``; returns each audio-named entry's stored path -> expected
    error_type (None: a track)."""
    lib = root / "lib[1]"
    (lib / "take[1]").mkdir(parents=True)
    (root / "outside").mkdir()
    die = AUDIO / "die.au"
    shutil.copyfile(die, lib / "die.au")
    shutil.copyfile(die, lib / "take[1]" / "take.au")
    shutil.copyfile(die, root / "outside" / "outside.au")
    shutil.copyfile(die, os.fsencode(lib) + b"/caf\xe9.au")
    os.mkfifo(lib / "pipe.mp3")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(lib / "sock.wav"))
    sock.close()  # the socket file stays
    os.symlink("nowhere.mp3", lib / "gone.mp3")
    os.symlink("loop.mp3", lib / "loop.mp3")
    os.symlink("die.au", lib / "alias.au")  # a link to a file is an entry of its own
    os.symlink("../outside", lib / "linked")  # outside the catalogue: followed once
    os.symlink(".", lib / "again")  # a loop
    os.symlink("take[1]", lib / "tk")  # a folder already listed
    os.symlink("../lib[1]", root / "outside" / "back")  # back into the catalogue through the link
    (lib / "notes.txt").write_text("not audio")
    (lib / "dir.mp3").mkdir()  # folders are never entries, whatever their names
    (lib / "album.flac").mkdir()
    shutil.copyfile(die, lib / "album.flac" / "inner.au")  # ... and are walked like any other
    base = str(lib)
    return {
        f"{base}/die.au": None,
        f"{base}/album.flac/inner.au": None,
        f"{base}/take[1]/take.au": None,
        f"{base}/linked/outside.au": None,
        f"{base}/caf{ESCAPE}e9.au": None,
        f"{base}/alias.au": None,
        f"{base}/pipe.mp3": "not_a_file",
        f"{base}/sock.wav": "not_a_file",
        f"{base}/gone.mp3": "missing",
        f"{base}/loop.mp3": "missing",
    }


def test_every_entry_of_a_messy_folder_is_listed_once(tmp_path):
    expected = build_messy_library(tmp_path)
    entries = list_entries(str(tmp_path / "lib[1]"))
    assert sorted(e.path for e in entries) == sorted(expected)


def test_a_run_over_a_messy_folder_keeps_every_entry_once(tmp_path):
    expected = build_messy_library(tmp_path)
    out = tmp_path / "out"
    cmd = run_command(f"{tmp_path / 'lib[1]'}/", out, "--direct_num_workers=1", "--progress-seconds=0")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tracks = pd.read_parquet(out / "latest" / "tracks")
    errors = pd.read_parquet(out / "latest" / "errors")
    # Conservation: every audio-named entry that is not a folder exactly once, in tracks or in
    # errors; folders (dir.mp3 included) are never entries (one that cannot be listed is an
    # error row of its own: tests/test_hostile_round2_lost.py).
    listed = list(tracks["path"]) + list(errors["path"])
    assert sorted(listed) == sorted(expected)
    assert dict(zip(errors["path"], errors["error_type"])) == {p: t for p, t in expected.items() if t}
    assert errors.set_index("path").loc[f"{tmp_path / 'lib[1]'}/gone.mp3", "message"].startswith("dangling")
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["counts"]["inputs"] == len(expected)
    # The path column opens the file, undecodable name included.
    die = (AUDIO / "die.au").read_bytes()
    for path in tracks["path"]:
        with open(to_os_path(path), "rb") as f:
            assert f.read() == die
    assert track_id_for(f"{tmp_path / 'lib[1]'}/caf{ESCAPE}e9.au") in set(tracks["track_id"])
    assert tracks["top_genre"].nunique() == 1  # the same clip everywhere, the same answer
