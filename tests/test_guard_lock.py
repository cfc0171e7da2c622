"""The run lock is a real lock: the kernel decides, whatever the lock file says (issue 9, class 5)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from recogenre.pipeline.lock import LOCK_NAME, LockHeld, RunLock
from tests.conftest import ROOT, clip, run_command, unstamped

# A process that says it is ready, waits for the GO file, tries the lock, says what happened,
# and holds what it got until the RELEASE file exists. Files, not clocks: on a busy machine a
# racer may take seconds to start, and the winner must still hold while every racer tries.
RACER = textwrap.dedent(
    """
    import os, sys, time
    from recogenre.pipeline.lock import LockHeld, RunLock
    out, go, release = sys.argv[1:4]
    lock = RunLock(out)
    print("ready", flush=True)
    while not os.path.exists(go):
        pass
    try:
        lock.acquire()
    except LockHeld as e:
        print("held", e, flush=True)
        sys.exit(0)
    print("got", flush=True)
    while not os.path.exists(release):
        time.sleep(0.01)
    lock.release()
    """
)


def start(out: str, go: str | None = None, release: str = "/nonexistent/never") -> subprocess.Popen:
    """A racer; without ``go`` it tries at once, without ``release`` it holds until killed."""
    return subprocess.Popen(
        [sys.executable, "-c", RACER, out, go or os.devnull, release],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def race(out, racers: int) -> list[str]:
    go, release = out.parent / f"{out.name}.go", out.parent / f"{out.name}.release"
    procs = [start(str(out), str(go), str(release)) for _ in range(racers)]
    try:
        assert all(p.stdout.readline().strip() == "ready" for p in procs)  # every racer is spinning
        go.touch()
        outcomes = [p.stdout.readline().strip() for p in procs]  # each has tried; the winner holds
        release.touch()
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    return outcomes


def stale_lock(out) -> None:
    """The file a run killed with SIGKILL leaves: its holder's pid, now dead, on this host."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    out.mkdir(exist_ok=True)
    holder = {"pid": dead.pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00"}
    (out / LOCK_NAME).write_text(json.dumps(holder))


def test_racers_over_a_stale_lock_exactly_one_runs(tmp_path):
    for round_ in range(3):
        out = tmp_path / f"out{round_}"
        stale_lock(out)
        outcomes = race(out, racers=4)
        winners = [o for o in outcomes if o == "got"]
        assert len(winners) == 1, outcomes
        losers = [o for o in outcomes if o != "got"]
        held = "held another run is using this output folder (pid "
        assert all(o.startswith(held) for o in losers), outcomes
        assert not (out / LOCK_NAME).exists()  # the winner removed it on release


@pytest.mark.parametrize(
    "content",
    [
        b"",  # the disk was full when the holder wrote it
        b'{"pid": 1, "host": "another-container", "started": "2026-01-01T00:00:00+00:00"}',
        json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "x"}).encode(),
        b"\x00\xff not json",
    ],
    ids=["empty", "other-host", "live-pid-not-holding", "garbage"],
)
def test_a_lock_file_nobody_holds_never_blocks(tmp_path, content):
    (tmp_path / LOCK_NAME).write_bytes(content)
    with RunLock(str(tmp_path)) as lock:
        assert lock.held
        holder = json.loads((tmp_path / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_held_lock_names_its_holder_and_frees_when_the_holder_is_killed(tmp_path):
    holder = start(str(tmp_path))
    try:
        assert holder.stdout.readline().strip() == "ready" and holder.stdout.readline().strip() == "got"
        with pytest.raises(LockHeld, match=rf"pid {holder.pid} on {socket.gethostname()}, started 20"):
            RunLock(str(tmp_path)).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        assert (tmp_path / LOCK_NAME).exists()  # left behind, but nobody holds it
        with RunLock(str(tmp_path)) as lock:
            assert lock.held
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_run_refuses_while_another_holds_the_lock_and_leaves_everything(tmp_path):
    out = tmp_path / "out"
    holder = start(str(out))
    try:
        assert holder.stdout.readline().strip() == "ready" and holder.stdout.readline().strip() == "got"
        proc = subprocess.run(
            run_command(clip("die.au"), out), cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 1
        lines = unstamped(proc.stderr).strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("recogenre: another run is using this output folder")
        assert f"pid {holder.pid}" in lines[0]
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # no run folder made
    finally:
        holder.kill()
        holder.wait()
