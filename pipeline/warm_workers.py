"""DirectRunner worker processes that start with the launcher instead of after it.

The multi-process DirectRunner starts its workers (``python -m
apache_beam.runners.worker.sdk_worker_main``) only once the launcher has imported
Beam and built the pipeline, and each worker then imports Beam again: two ~1.5 s
imports one after the other before the first frame is classified (start-up 3.9 s
on a 2-core machine), and the runner starts no bundle before every worker has
connected. Here ``recogenre run`` starts one process first thing, which imports
what a worker needs (Beam's SDK harness, the pipeline's DoFns, the decoders,
OpenVINO) while the launcher imports Beam and builds the pipeline, and then forks
itself once per further worker: one import for all workers, on the core the
launcher leaves free. The runner's worker command (``attach`` below, a
stdlib-only script) hands its environment -- the runner's control and logging
addresses and the pipeline options -- to one of these warm processes over a Unix
socket, which runs Beam's own SDK harness (``sdk_worker_main.main``) with it and
sends back its exit status.

Nothing else changes: the same harness, options and worker count as Beam's
multi-process mode. When no warm process is free (Beam asks for more workers,
one failed to start) ``attach`` becomes Beam's usual worker command.
``RECOGENRE_WARM_WORKERS=0`` turns this off (for comparisons).

This module's top level imports only the standard library: ``attach`` runs it
as a script with ``python -S -I``.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import socket
import sys

ENV_SWITCH = "RECOGENRE_WARM_WORKERS"
HELLO = b"ok\n"
# What a worker would import when the first bundle arrives: every DoFn of the pipeline (and
# through them the decoders and log-mel) and the default backend's runtime.
PRELOAD = ("recogenre.pipeline.graph", "recogenre.analysis.melspec", "openvino")


def _recv_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data


# --- the runner's worker command -------------------------------------------------------------


def _address(token: str, k: int) -> str:
    # Linux's abstract socket namespace: no file to clean up, gone with the process.
    return f"\0{token}-{k}"


def attach(token: str, workers: int) -> None:
    """Runs as Beam's worker command: hands this environment to a warm process and waits for it."""
    digits = "".join(c for c in os.environ.get("WORKER_ID", "") if c.isdigit())
    first = int(digits) % workers if digits else 0
    for k in [*range(first, workers), *range(first)]:  # worker_1 tries the second process first
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(_address(token, k))
            if conn.recv(len(HELLO)) != HELLO:  # another worker took it (the listener closed)
                continue
        except OSError:
            continue
        conn.sendall(json.dumps(dict(os.environ)).encode() + b"\n")
        status = _recv_line(conn).strip()
        sys.exit(int(status) if status.lstrip(b"-").isdigit() else 1)
    os.execv(sys.executable, [sys.executable, "-m", "apache_beam.runners.worker.sdk_worker_main"])


# --- a warm process ----------------------------------------------------------------------------


def serve(token: str, workers: int) -> None:
    """Listens first (the runner may ask while we import), imports a worker's code once, forks
    a copy per further worker, and runs one SDK harness in each.

    The fork comes before any thread of ours exists and before gRPC opens anything;
    what runs then is the imported code's (OpenBLAS and jemalloc threads, which
    handle fork themselves).
    """
    listeners = []
    for k in range(workers):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(_address(token, k))
        listener.listen(4)
        listeners.append(listener)

    import apache_beam.runners.worker.sdk_worker_main as harness

    for module in PRELOAD:
        with _suppressed_import_error():
            importlib.import_module(module)
    me, forks = 0, []
    for k in range(1, workers):
        try:
            pid = os.fork()
        except OSError:
            break  # that worker's runner command finds no listener and starts a cold worker
        if pid == 0:
            me, forks = k, []
            break
        forks.append(pid)
    for k, listener in enumerate(listeners):
        if k != me:
            listener.close()
    listener = listeners[me]
    # stdin is a pipe from the launcher: end of file when it exits (even before it is reaped)
    readable, _, _ = select.select([listener, sys.stdin], [], [])
    if listener not in readable:  # the launcher is gone: nobody will ask
        os._exit(0)
    conn = listener.accept()[0]
    listener.close()
    conn.settimeout(None)
    conn.sendall(HELLO)
    os.environ.update(json.loads(_recv_line(conn) or b"{}"))
    from recogenre.analysis.logs import one_line_stderr_for_this_process

    one_line_stderr_for_this_process()  # the harness prints a failed bundle's traceback there
    code = 1
    try:
        harness.main(sys.argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        with _suppressed_os_error():
            conn.sendall(f"{code}\n".encode())
            conn.close()
    for pid in forks:  # reaped, so that their CPU time counts as the launcher's children's
        with _suppressed_os_error():
            os.waitpid(pid, 0)
    sys.exit(code)


def _suppressed_import_error():
    import contextlib

    return contextlib.suppress(ImportError)


def _suppressed_os_error():
    import contextlib

    return contextlib.suppress(OSError)


# --- the launcher's side -----------------------------------------------------------------------


def _planned_workers(beam_args: list[str]) -> int:
    """How many worker processes the default local run will start (0: not the multi-process runner).

    Read from the arguments alone, before Beam is imported; ``runner()`` checks the parsed
    options later and stops the processes when this guessed wrong.
    """
    import argparse

    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for flag in ("--runner", "--direct_running_mode", "--direct_num_workers", "--environment_type"):
        p.add_argument(flag)
    known, _ = p.parse_known_args(beam_args)
    if known.runner not in (None, "DirectRunner", "direct") or known.environment_type:
        return 0
    try:
        workers = int(known.direct_num_workers or 0) or os.cpu_count() or 1
    except ValueError:
        return 0
    mode = known.direct_running_mode
    if mode not in (None, "multi_processing") or (mode is None and workers == 1):
        return 0
    return workers


class WarmPool:
    """The warm processes of one launcher; those the runner never claimed end with the launcher."""

    def __init__(self, workers: int):
        import atexit
        import secrets
        import subprocess

        self.workers = workers
        self.token = f"recogenre-workers-{os.getpid()}-{secrets.token_hex(6)}"
        command = [sys.executable, "-m", "recogenre.pipeline.warm_workers", "serve", self.token, str(workers)]
        # Their stdin is ours to close: end of file tells every unclaimed one (forks included)
        # that the launcher is gone, however it ended.
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE)
        atexit.register(self.stop)

    def command(self) -> str:
        import shlex

        words = [sys.executable, "-S", "-I", __file__, "attach", self.token, str(self.workers)]
        return " ".join(map(shlex.quote, words))

    def stop(self) -> None:
        import subprocess

        with _suppressed_os_error():
            self.proc.stdin.close()  # unclaimed processes exit now; claimed ones are ending
        for signal_them in (None, self.proc.terminate, self.proc.kill):
            if signal_them:
                signal_them()
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue


def start(beam_args: list[str], args=None) -> WarmPool | None:
    """Starts the worker processes of a default local run now, before the launcher imports Beam.

    ``args`` (the command's options) tell a Dask run, which needs no local workers."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None
    if args.dask_address or args.dask_scheduler_file:
        return None
    workers = _planned_workers(beam_args)
    return WarmPool(workers) if workers else None


def runner(pool: WarmPool | None, options):
    """A runner whose workers are the pool's processes, or None (and the pool stopped) if not the
    multi-process DirectRunner with as many workers as planned."""
    if pool is None:
        return None
    import multiprocessing

    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    direct = options.view_as(DirectOptions)
    workers = direct.direct_num_workers or multiprocessing.cpu_count()
    if (
        options.view_as(StandardOptions).runner not in ("DirectRunner", "direct")
        or direct.direct_running_mode != "multi_processing"
        or workers != pool.workers
    ):
        pool.stop()
        return None
    return _warm_runner_class()(pool.command())


def _warm_runner_class():
    import logging

    from apache_beam.options.pipeline_options import DirectOptions
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle
    from apache_beam.runners.runner import PipelineRunner
    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    class _NoModeWarning(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "direct_running_mode should be" not in record.getMessage()

    class WarmDirectRunner(PipelineRunner):
        """What the DirectRunner does for a pipeline the FnApiRunner supports (as recogenre's does),
        with the pool's command as the worker environment."""

        def __init__(self, command: str):
            super().__init__()
            self.command = command

        def run_pipeline(self, pipeline, options):
            encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
            provision = fn_runner.ExtendedProvisionInfo(
                beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
            )
            runner = fn_runner.FnApiRunner(
                default_environment=SubprocessSDKEnvironment.from_command_string(self.command),
                provision_info=provision,
            )
            # In multi_processing mode the FnApiRunner replaces any environment by its own
            # worker command; in the default mode it keeps ours, with direct_num_workers
            # processes all the same. The workers still see multi_processing (encoded above).
            direct = options.view_as(DirectOptions)
            mode, direct.direct_running_mode = direct.direct_running_mode, "in_memory"
            quiet = _NoModeWarning()
            fn_runner._LOGGER.addFilter(quiet)
            try:
                return runner.run_pipeline(pipeline, options)
            finally:
                direct.direct_running_mode = mode
                fn_runner._LOGGER.removeFilter(quiet)

    return WarmDirectRunner


if __name__ == "__main__":
    if sys.argv[1] == "attach":
        attach(sys.argv[2], int(sys.argv[3]))
    else:
        serve(sys.argv[2], int(sys.argv[3]))
