"""The numbers in recogenre's messages: singular for one, sizes in a readable unit,
no time left when nothing is left to decode, and "recogenre:" said once."""

from __future__ import annotations

import subprocess
import sys

from recogenre.analysis.progress import ProgressPrinter, ProgressWriter
from recogenre.analysis.schemas import CHANGE_KINDS
from recogenre.analysis.wording import count, size
from recogenre.pipeline.summary import format_summary
from tests.conftest import ROOT, unstamped


def test_count_says_one_thing_and_several_things():
    assert count(1, "track") == "1 track"
    assert count(0, "track") == "0 tracks" and count(2, "file") == "2 files"
    assert count(1, "labelled file") == "1 labelled file"


def test_size_picks_a_unit_that_shows_the_size():
    assert size(29_000) == "29 KB"  # not "0.0 MB"
    assert size(2_040_000) == "2.0 MB" and size(512) == "512 bytes" and size(1) == "1 byte"


def test_a_run_summary_of_one_track_says_track():
    counts = {
        "tracks": 1,
        "silent_tracks": 0,
        "frames": 1,
        "errors": 1,
        "errors_by_type": {"corrupt": 1},
        "genres": {"disco": 1},
        "decoded": 1,
        "audio_seconds": 30.0,
        "decoded_audio_seconds": 30.0,
        **{k: 0 for k in CHANGE_KINDS},
    }
    first = format_summary("R", "out/runs/R", "out", counts, 2.0).splitlines()[0]
    assert first == "run R: 1 track (0 silent), 1 frame, 1 error"


def test_no_time_left_when_nothing_is_left_to_decode(tmp_path):
    """Counter files written by the real ProgressWriter: carried-over tracks are not waited for."""
    writer = ProgressWriter(str(tmp_path))
    printer = ProgressPrinter(str(tmp_path), 9, lambda line: None)
    writer.add(carried=7, tracks=2, frames=2)  # a nightly run: 7 unchanged, 2 bad files retried
    writer.flush()
    line = printer.line()
    assert line.startswith("progress: 9/9 tracks (7 carried over), 2 frames")
    assert "s left" not in line and line.endswith("nothing left to decode, writing results")
    writer.add(carried=-7)  # the same counters with nothing carried over: 7 still to decode
    writer.flush()
    assert printer.line().startswith("progress: 2/9 tracks, 2 frames") and printer.line().endswith(" s left")
    writer.add(frames=-1)
    writer.flush()
    assert printer.line().startswith("progress: 2/9 tracks, 1 frame, ")


def test_an_unknown_command_is_named_once():
    cmd = [sys.executable, "-m", "recogenre", "nosuch"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert unstamped(proc.stderr).startswith("recogenre: argument command: invalid choice: 'nosuch'")
