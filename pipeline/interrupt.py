"""Ctrl-C and SIGTERM during ``recogenre run``: one line and the conventional exit status.

Without this, Ctrl-C surfaces as gRPC ``_MultiThreadedRendezvous`` and worker
``KeyboardInterrupt`` tracebacks, and SIGTERM kills the launcher without a word.

How: before Beam is even imported (``shield_workers_from_sigint``, called by the
command line for ``run`` and ``evaluate``), SIGINT is set to "ignore" and blocked.
The DirectRunner's worker processes inherit "ignore" (Beam starts them through
``/bin/sh``, which clears the signal mask but keeps ignored signals ignored), so a
Ctrl-C on the terminal does not kill them mid-bundle. In the launcher the blocked
signal stays pending (Linux never discards a blocked signal) until a small thread
takes it with ``sigwait`` and wakes the main thread with SIGTERM, whose handler
raises ``Interrupted`` (a BaseException, so the pipeline's ``except Exception``
blocks let it through). Beam's runner then closes its workers in its own
``finally`` and the launcher's ``finally`` releases the run lock, as on a failed
run. ``latest`` is only switched after a complete run, so it still points at the
previous one. Once interrupted, the noise of workers going away (thread
exceptions, Beam's worker log) is silenced: the one line says what happened.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable

EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143


class Interrupted(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _State:
    def __init__(self) -> None:
        self.signum: int | None = None  # the signal the user sent
        self.done = False


def latest_target(out: str) -> str:
    from pipeline import layout

    run = layout.latest_run(out)
    return run if run else "nothing (no run has finished in this output folder yet)"


def shield_workers_from_sigint() -> None:
    """Ignore and block SIGINT in this process and every thread and worker it starts from now on.

    Main thread only, and before the imports that start threads (Beam, numpy's BLAS):
    a thread created earlier would keep SIGINT unblocked and swallow it.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def exit_on_signal(body: Callable[[], int], out: str) -> int:
    """``body()``, or 130 (SIGINT) / 143 (SIGTERM) after one line on stderr."""
    if threading.current_thread() is not threading.main_thread():
        return body()  # signal handlers can only be set from the main thread
    state = _State()
    main_ident = threading.main_thread().ident

    def on_signal(signum, frame):
        state.signum = state.signum or signum
        for s in (signal.SIGINT, signal.SIGTERM):  # a second signal must not start a second traceback
            signal.signal(s, signal.SIG_IGN)
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL + 1)
        raise Interrupted(state.signum)

    def forward_sigint():
        while True:
            signal.sigwait({signal.SIGINT})
            if state.done:
                return
            state.signum = state.signum or signal.SIGINT
            signal.pthread_kill(main_ident, signal.SIGTERM)

    def quiet_threads(args):
        if state.signum is None:
            previous_hook(args)

    shielded = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    previous_handlers = {signal.SIGTERM: signal.signal(signal.SIGTERM, on_signal)}
    if not shielded:  # called in-process: a plain handler (workers started now get Ctrl-C too)
        previous_handlers[signal.SIGINT] = signal.signal(signal.SIGINT, on_signal)
    previous_hook = threading.excepthook
    threading.excepthook = quiet_threads
    forwarder = threading.Thread(target=forward_sigint, name="recogenre-sigint", daemon=True)
    if shielded:
        forwarder.start()
    try:
        return body()
    except Interrupted as e:
        message = f"recogenre: interrupted; latest still points at {latest_target(out)}"
        print(message, file=sys.stderr, flush=True)
        return 128 + e.signum
    finally:
        state.done = True
        if shielded:
            signal.pthread_kill(forwarder.ident, signal.SIGINT)  # ends its sigwait
            forwarder.join(timeout=5)
        for s, handler in previous_handlers.items():
            signal.signal(s, handler)
        if state.signum is None:
            threading.excepthook = previous_hook
