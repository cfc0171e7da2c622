"""What a user meets at the command line: help, version, charts, logs, and stopping a run."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from recogenre.analysis.progress import ProgressPrinter, ProgressWriter, schedule
from recogenre.pipeline.interrupt import descendants
from tests.conftest import AUDIO, ROOT, STAMP, WEIGHTS, clip, run_command, unstamped, wait_until

CLI = [sys.executable, "-m", "recogenre"]


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, cwd=ROOT, **kw)


def test_help_is_not_an_error_and_no_arguments_is():
    helped = subprocess.run([str(ROOT / "run_local.sh"), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "./run_local.sh DIR [OUT]" in helped.stdout
    bare = subprocess.run([str(ROOT / "run_local.sh")], capture_output=True, text=True)
    assert bare.returncode == 2 and "./run_local.sh DIR [OUT]" in bare.stderr


def test_version():
    from recogenre.pipeline import __version__

    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"recogenre {__version__}"


@pytest.mark.parametrize(
    "command, option, default",
    [
        ("run", "--batch-size", "4"),
        ("run", "--keep", "7"),
        ("evaluate", "--segment-frames", "16"),
        ("classify", "--trim-seconds", "0.0"),
        ("serve", "--port", "8080"),
        ("report", "--max-track-charts", "0"),
        ("similar", "-k", "10"),
    ],
)
def test_every_subcommand_help_shows_defaults(command, option, default):
    proc = cli(command, "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    help_of_option = text.split(f" {option} ", 1)[1].split(" --", 1)[0]
    assert re.search(rf"\(default:? {re.escape(default)}\b", help_of_option), help_of_option


def test_plot_with_a_file_named_twice_writes_one_chart_per_file_and_says_where(tmp_path):
    target = tmp_path / "num.png"
    files = [clip("die.au"), clip("disco.00000.au"), clip("disco.00000.au")]
    proc = cli("classify", *files, "--plot", str(target), "--weights", str(WEIGHTS))
    assert proc.returncode == 0, proc.stderr[-2000:]
    charts = [tmp_path / f"num-{i}.png" for i in (1, 2, 3)]
    assert sorted(tmp_path.iterdir()) == charts
    assert all(c.read_bytes()[:4] == b"\x89PNG" for c in charts)
    said = [ln for ln in unstamped(proc.stderr).splitlines() if "chart for" in ln]
    assert said == [f"recogenre: chart for {f}: {c}" for f, c in zip(files, charts)]


def test_launcher_lines_are_stamped_in_logs_and_plain_on_a_terminal(tmp_path):
    args = ["run", "--catalogue", str(tmp_path / "none.csv"), "--output", str(tmp_path / "out")]
    logged = cli(*args)
    assert logged.returncode == 2 and STAMP.match(logged.stderr)
    assert unstamped(logged.stderr).startswith("recogenre: cannot read catalogue")

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [*CLI, *args], stderr=follower, stdout=subprocess.DEVNULL, cwd=ROOT, timeout=300
        )
        os.close(follower)
        text = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            text += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 2 and text.decode().startswith("recogenre: cannot read catalogue")


def test_logging_lines_in_a_log_carry_a_timestamp():
    code = (
        "import logging; from recogenre.analysis.logs import configure_logging; configure_logging(); "
        "logging.getLogger('apache_beam.x').warning('worker said something')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert STAMP.match(proc.stderr) and "WARNING apache_beam.x: worker said something" in proc.stderr


def test_progress_schedule_depends_on_where_the_lines_go():
    assert schedule(None, terminal=True) == (10.0, 0)
    assert schedule(None, terminal=False) == (60.0, 10)
    assert schedule(3, terminal=False) == (3, 0) and schedule(0, terminal=True)[0] == 0


def test_progress_in_a_log_comes_per_tenth_of_the_tracks(tmp_path):
    """Workers' counter files (written by the real ProgressWriter) drive one line per 10 %."""
    lines: list[str] = []
    printer = ProgressPrinter(str(tmp_path), 20, lines.append, every=3600, steps=10)
    writer = ProgressWriter(str(tmp_path))
    printer.start()
    try:
        # 1, 2, 4 of 20 tracks done: lines at 10 % and 20 %, none at 5 %. Each step waits for
        # the printer to have seen it (its line), however slowly the busy machine runs it.
        for more, lines_by_then in ((1, 0), (1, 1), (2, 2)):
            writer.add(tracks=more, frames=1)
            writer.flush()
            wait_until(lambda: len(lines) >= lines_by_then, f"progress line {lines_by_then}")  # noqa: B023
    finally:
        printer.stop()
        printer.join()
    assert [ln.split()[1] for ln in lines] == ["2/20", "4/20"]


def alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def yesterday(tmp_path_factory) -> Path:
    """An output folder with one published snapshot (one short clip, in-process)."""
    root = tmp_path_factory.mktemp("yesterday")
    (root / "library").mkdir()
    shutil.copyfile(AUDIO / "die.au", root / "library" / "die.au")
    cmd = run_command(root / "library", root / "out", "--direct_num_workers=1", "--progress-seconds=0")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


@pytest.mark.parametrize("how", ["SIGTERM to the launcher", "Ctrl-C to the process group"])
def test_a_signal_stops_the_run_with_one_line(yesterday, tmp_path, how):
    library, out = tmp_path / "library", tmp_path / "out"
    shutil.copytree(yesterday / "library", library)
    shutil.copytree(yesterday / "out", out, symlinks=True)
    before = os.readlink(out / "latest")
    # Tonight's new files: far more work than the test waits for (it signals as soon as both
    # workers are busy), so the run cannot finish first however fast or loaded the machine is.
    for i in range(40):
        shutil.copyfile(AUDIO / "example_cl.mp3", library / f"copy{i}.mp3")
    cmd = run_command(
        library,
        out,
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
        "--progress-seconds=1",
    )
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True
    )
    try:
        seen, busy = [], 0
        for line in proc.stderr:  # signal once both workers run (progress lines come every second)
            seen.append(line)
            workers = descendants(proc.pid)
            commands = [Path(f"/proc/{p}/cmdline").read_bytes() for p in workers]
            # Beam's worker command: sdk_worker_main, or the one attaching to a warm worker
            started = [c for c in commands if b"sdk_worker_main" in c or b"warm_workers.py" in c]
            busy += len(started) >= 4  # two `sh -c` and two Python workers
            if busy >= 3:
                break
        assert busy >= 3, "".join(seen)
        if how.startswith("SIGTERM"):
            proc.send_signal(signal.SIGTERM)
            expected = 143
        else:
            os.killpg(proc.pid, signal.SIGINT)
            expected = 130
        rest = proc.stderr.read()
        status = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    after = [ln for ln in unstamped(rest).splitlines() if ln.strip() and not ln.startswith("progress: ")]
    assert status == expected, rest[-3000:]
    line = f"recogenre: interrupted; latest still points at {(out / before).resolve()}"
    assert after == [line], rest[-3000:]
    assert "Traceback" not in rest and "Rendezvous" not in rest
    assert os.readlink(out / "latest") == before
    assert not (out / ".recogenre.lock").exists()
    wait_until(lambda: not [p for p in workers if alive(p)], "the run's workers to exit")
    assert json.loads((out / "latest" / "manifest.json").read_text())["counts"]["tracks"] == 1


def test_the_command_line_starts_no_thread_before_shielding_workers_from_sigint():
    """Ctrl-C reaches the launcher only if no thread exists before the shield (pipeline/interrupt.py):
    a thread with SIGINT unblocked (OpenBLAS's, when numpy is imported) would swallow it."""
    probe = "import os, sys, recogenre.cli;print(len(os.listdir('/proc/self/task')), 'numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False"]


def test_a_reader_that_goes_away_stops_classify_without_a_traceback():
    """``recogenre classify *.mp3 | head -1``: the pipe is closed before classify prints."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE, whatever the timing
    try:
        command = [*CLI, "classify", "--weights", str(WEIGHTS), clip("die.au"), clip("metal.00000.au")]
        done = subprocess.run(
            command, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=300, cwd=ROOT
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr[-2000:]
    assert done.stderr == "" and done.returncode == 1


def test_an_in_process_run_leaves_sigint_as_it_was(tmp_path):
    """The command shields its Beam workers from SIGINT (ignored and blocked, inherited by
    every child); a caller that lives on after ``main`` (a scheduler calling pipeline/main.py,
    a test) gets SIGINT back as it was, or every program it starts later inherits a blocked
    SIGINT and cannot be interrupted."""
    from tests.conftest import run_in_process

    library = tmp_path / "library"
    library.mkdir()
    shutil.copyfile(AUDIO / "die.au", library / "die.au")

    def sigint_state():
        return signal.getsignal(signal.SIGINT), signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])

    before = sigint_state()
    assert before == (signal.default_int_handler, False)
    assert run_in_process(library, tmp_path / "out") == 0
    assert sigint_state() == before
