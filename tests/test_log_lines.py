"""Off a terminal every stderr line is time-stamped and one line of at most MAX_LINE_CHARS (issue 18).

A 2,000-file run's log held raw ``RuntimeWarning``/``RankWarning`` lines (Python warnings,
printed by ``warnings`` itself), multi-line tracebacks and a 2 KB ``failed:`` line. Here the
commands' stderr is a pipe, as under cron or systemd.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from recogenre.analysis.logs import MAX_LINE_CHARS
from tests.conftest import ROOT, STAMP, WEIGHTS, clip, run_command, unstamped

LONG = 2000


def assert_log_lines(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    assert lines
    for line in lines:
        assert STAMP.match(line), line
        assert len(line) <= MAX_LINE_CHARS, len(line)
    assert "Traceback" not in stderr and "\x1b" not in stderr
    return lines


def test_warnings_tracebacks_and_long_messages_become_stamped_single_lines():
    code = f"""
import logging, warnings
import numpy as np
from recogenre.analysis.logs import configure_logging, say
from recogenre.pipeline.run import progress_line as run_say
configure_logging()
np.polyfit(np.arange(3.0), np.arange(3.0), 10)  # numpy's RankWarning
np.log(np.zeros(1))  # RuntimeWarning: divide by zero
warnings.warn("a library's warning\\nover two lines")
try:
    open("/nonexistent/dir/file")
except OSError:
    logging.getLogger("apache_beam.worker").exception("bundle failed\\nwith details")
logging.getLogger("apache_beam.runner").warning("severity: WARN\\nmessage: " + "w" * {LONG})
say("run failed: OSError: " + "x" * {LONG})
run_say("recogenre: run failed: " + "\\x1b[2K" + "y" * {LONG})
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = assert_log_lines(proc.stderr)
    assert len(lines) == 7, proc.stderr
    assert "WARNING py.warnings: " in lines[0] and "RankWarning: Polyfit may be poorly" in lines[0]
    assert "RuntimeWarning: divide by zero" in lines[1]
    assert "UserWarning: a library's warning | over two lines" in lines[2]
    assert "ERROR apache_beam.worker: bundle failed | with details (FileNotFoundError: " in lines[3]
    assert "severity: WARN | message: www" in lines[4] and lines[4].endswith("w…")
    assert "recogenre: run failed: OSError: xxx" in lines[5] and lines[5].endswith("x…")
    assert "recogenre: run failed: \\x1b[2Kyyy" in lines[6] and lines[6].endswith("y…")


def test_a_run_with_a_long_failure_message_logs_stamped_single_lines(tmp_path):
    # a catalogue path of 2 KB (folders of 200 characters) that does not exist
    catalogue = tmp_path.joinpath(*["c" * 200] * (LONG // 200))
    proc = subprocess.run(
        run_command(catalogue, tmp_path / "out", weights=WEIGHTS),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr
    (line,) = assert_log_lines(proc.stderr)
    assert "recogenre: catalogue /" in line and line.endswith("…")


def test_a_run_that_fills_the_disk_logs_stamped_single_lines_from_its_workers(tmp_path):
    """ENOSPC while the workers write Parquet: Beam's worker prints the bundle's traceback
    straight to its stderr and pyarrow's writer complains from ``__del__``; the log got
    40 raw traceback lines."""
    mount = tmp_path / "small"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)]
    mounted = subprocess.run(command, capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        # room for the lock and the run's folder, not for its tables
        (mount / "filler").write_bytes(b"\0" * 200 * 1024)
        catalogue = tmp_path / "lib"
        catalogue.mkdir()
        for k in range(6):
            shutil.copyfile(clip("die.au"), catalogue / f"die{k}.au")
        proc = subprocess.run(
            run_command(catalogue, mount / "out"), capture_output=True, text=True, cwd=ROOT, timeout=600
        )
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "while running 'Write" in proc.stderr  # a worker's failure, not the launcher's
    lines = proc.stderr.splitlines()
    for line in lines:  # Beam's forwarded worker entries hold the traceback's text, on their one line
        assert STAMP.match(line) and len(line) <= MAX_LINE_CHARS, line
    assert not any(line.startswith(("Traceback", "  File")) for line in map(unstamped, lines))
    # the failure says what failed, not the start of a traceback
    (failed,) = [line for line in lines if " failed: " in line]
    assert "failed: RuntimeError: OSError: [Errno 28] No space left on device" in failed, failed
