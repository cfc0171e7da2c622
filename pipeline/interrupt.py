"""Ctrl-C and SIGTERM during ``recogenre run``: one line and the conventional exit status.

Without this, Ctrl-C surfaces as gRPC ``_MultiThreadedRendezvous`` and worker
``KeyboardInterrupt`` tracebacks, and SIGTERM kills the launcher without a word.

How: before Beam is even imported (``shield_workers_from_sigint``, called by the
command line for ``run`` and ``evaluate``), SIGINT is set to "ignore" and blocked.
The DirectRunner's worker processes inherit "ignore" (Beam starts them through
``/bin/sh``, which clears the signal mask but keeps ignored signals ignored), so a
Ctrl-C on the terminal does not make them print tracebacks. In the launcher the
blocked signal stays pending (Linux never discards a blocked signal) until a small
thread takes it with ``sigwait``; SIGTERM gets a handler in the main thread.

Either way the launcher then stops at once, deliberately without unwinding Beam:
an exception raised asynchronously inside the runner can leave it waiting forever
for workers (seen with the multi-process DirectRunner). Instead it kills its own
worker processes, removes the run lock it holds, prints one line and exits with
``os._exit``. Nothing is lost: ``latest`` is only switched after a complete run,
so it still points at the previous one, and the next run deletes the unfinished
run folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from recogenre.analysis.paths import is_remote


def latest_target(out: str) -> str:
    from recogenre.pipeline import layout

    run = layout.latest_run(out)
    return run if run else "nothing (no run has finished in this output folder yet)"


def descendants(pid: int) -> list[int]:
    """Our child processes and theirs (Beam's ``sh -c`` and its Python workers), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for child, pp in parents.items():
            if pp == parent and child not in found:
                found.append(child)
                todo.append(child)
    return found


def _release_lock(out: str) -> None:
    from recogenre.pipeline.lock import LOCK_NAME

    path = Path(out) / LOCK_NAME
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def stop_now(signum: int, out: str) -> None:
    """Kill our workers, drop our lock, say one line, exit 128 + signum. Never returns."""
    for s in (signal.SIGINT, signal.SIGTERM):  # a second signal must not interrupt this
        with contextlib.suppress(ValueError):  # not the main thread: its handler ignores repeats
            signal.signal(s, signal.SIG_IGN)
    # Beam's threads notice their workers die before we exit: keep their tracebacks and logs quiet.
    threading.excepthook = lambda args: None
    logging.disable(logging.CRITICAL)
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if not is_remote(out):
        _release_lock(out)
    try:
        message = f"interrupted; latest still points at {latest_target(out)}"
    except Exception:
        message = "interrupted; latest still points at the previous run"
    from recogenre.analysis.logs import say

    say(message)
    os._exit(128 + signum)


def shield_workers_from_sigint() -> Callable[[], None]:
    """Ignore and block SIGINT in this process and every thread and worker it starts from now on.

    Main thread only, and before the imports that start threads (Beam, numpy's BLAS):
    a thread created earlier would keep SIGINT unblocked and swallow it. Returns what
    undoes it, for a caller that lives on after the command (a scheduler calling
    ``pipeline/main.py`` in-process, a test): an ignored, blocked SIGINT would otherwise
    stay with that process and be inherited by every program it starts.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def restore() -> None:
        if signal.SIGINT not in blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, handler)

    return restore


def exit_on_signal(body: Callable[[], int], out: str) -> int:
    """``body()``; on SIGINT or SIGTERM, one line on stderr and exit 130 / 143 (see above)."""
    if threading.current_thread() is not threading.main_thread():
        return body()  # signal handlers can only be set from the main thread
    lock = threading.Lock()  # one signal does the stopping

    def stop(signum: int) -> None:
        if lock.acquire(blocking=False):
            stop_now(signum, out)

    def forward_sigint():
        signal.sigwait({signal.SIGINT})
        stop(signal.SIGINT)

    shielded = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, lambda signum, frame: stop(signum))}
    if shielded:
        threading.Thread(target=forward_sigint, name="recogenre-sigint", daemon=True).start()
    else:  # called in-process without the shield: a plain handler
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, lambda signum, frame: stop(signum))
    try:
        return body()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# What a DirectRunner worker's command line holds: Beam's own worker command, or the warm
# worker processes of pipeline/warm_workers.py (its `serve` processes, their forks, which run
# the SDK harness, and Beam's `attach` command that hands work to them).
BEAM_WORKER_MARKS = (b"apache_beam.runners.worker.sdk_worker_main", b"warm_workers")


def is_beam_worker(cmdline: bytes) -> bool:
    return any(mark in cmdline for mark in BEAM_WORKER_MARKS)


def _beam_workers() -> list[int]:
    """This process's DirectRunner worker processes (only those: a notebook has children of its own)."""
    workers = []
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            if is_beam_worker(f.read()):
                workers.append(pid)
    return workers


def interruptible_in_process(body: Callable[[], int]) -> int:
    """``body()`` for the Python API: SIGINT (Ctrl-C, a notebook's interrupt) raises KeyboardInterrupt.

    Unlike :func:`exit_on_signal` the process lives on. An exception raised inside the
    runner while worker processes live leaves it waiting for them forever (seen with the
    multi-process DirectRunner), so this process's Beam workers are killed first; the
    exception then unwinds the run (its lock is released, ``latest`` is untouched).
    """
    if threading.current_thread() is not threading.main_thread():
        return body()

    def on_sigint(signum, frame) -> None:
        workers = _beam_workers()
        if workers:
            _quiet_beam_teardown()
            threading.excepthook = _quiet_about_killed_workers(threading.excepthook)
        for pid in workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return body()
    finally:
        signal.signal(signal.SIGINT, previous)


# Beam's runner reports the workers killed by an interrupt from these loggers and from its
# gRPC reader threads, as they notice the closed connections -- also after KeyboardInterrupt
# has reached the caller. Those reports are hidden for a short while after an interrupt; the
# process lives on (a notebook), so nothing is hidden later.
QUIET_AFTER_INTERRUPT_S = 30.0
BEAM_TEARDOWN_LOGGERS = (
    "apache_beam.runners.worker.data_plane",
    "apache_beam.runners.portability.fn_api_runner.worker_handlers",
)
_interrupted_at: list[float] = []


def _unwinding() -> bool:
    return bool(_interrupted_at) and time.monotonic() - _interrupted_at[-1] < QUIET_AFTER_INTERRUPT_S


class _QuietWhileUnwinding(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _unwinding()


_QUIET_FILTER = _QuietWhileUnwinding()


def _quiet_beam_teardown() -> None:
    _interrupted_at.append(time.monotonic())
    for name in BEAM_TEARDOWN_LOGGERS:
        logger = logging.getLogger(name)
        if _QUIET_FILTER not in logger.filters:
            logger.addFilter(_QUIET_FILTER)


def _quiet_about_killed_workers(hook):
    """Beam's worker-watching and gRPC reader threads report the workers killed above; nothing
    else is hidden."""
    if getattr(hook, "recogenre_quiet", False):
        return hook

    def quiet(args) -> None:
        killed = "Worker subprocess exited with return code -9" in str(args.exc_value)
        closed = _unwinding() and type(args.exc_value).__module__.split(".")[0] == "grpc"
        if not ((args.exc_type is RuntimeError and killed) or closed):
            hook(args)

    quiet.recogenre_quiet = True
    return quiet
