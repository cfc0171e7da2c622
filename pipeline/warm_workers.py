"""DirectRunner worker processes that start with the launcher instead of after it.

The multi-process DirectRunner starts its workers (``python -m
apache_beam.runners.worker.sdk_worker_main``) only once the launcher has imported
Beam and built the pipeline, and each worker then imports Beam again: two ~1.5 s
imports one after the other before the first frame is classified (start-up 3.9 s
on a 2-core machine). Here ``recogenre run`` starts the workers' processes first
thing, so their imports overlap the launcher's; the runner's worker command
(``attach`` below, a stdlib-only script) then hands its environment -- the
runner's control and logging addresses and the pipeline options -- to one of
these warm processes over a Unix socket, which runs Beam's own SDK harness
(``sdk_worker_main.main``) with it and sends back its exit status.

Nothing else changes: the same harness, options and worker count as Beam's
multi-process mode. When no warm process is free (Beam asks for more workers,
one failed to start) ``attach`` becomes Beam's usual worker command.
``RECOGENRE_WARM_WORKERS=0`` turns this off (for comparisons).

This module's top level imports only the standard library: ``attach`` runs it
as a script with ``python -S -I``.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import socket
import sys

ENV_SWITCH = "RECOGENRE_WARM_WORKERS"
HELLO = b"ok\n"
# What a worker would import when the first bundle arrives: every DoFn of the pipeline (and
# through them the decoders and log-mel) and the default backend's runtime.
PRELOAD = ("recogenre.pipeline.graph", "recogenre.transforms.melspec", "openvino")


def _recv_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data


# --- the runner's worker command -------------------------------------------------------------


def attach(folder: str) -> None:
    """Runs as Beam's worker command: hands this environment to a warm process and waits for it."""
    socks = sorted(glob.glob(os.path.join(folder, "*.sock")))
    digits = "".join(c for c in os.environ.get("WORKER_ID", "") if c.isdigit())
    first = int(digits) % len(socks) if digits and socks else 0
    for path in socks[first:] + socks[:first]:  # worker_1 tries the second process first
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(path)
            if conn.recv(len(HELLO)) != HELLO:  # another worker took it (the listener closed)
                continue
        except OSError:
            continue
        conn.sendall(json.dumps(dict(os.environ)).encode() + b"\n")
        status = _recv_line(conn).strip()
        sys.exit(int(status) if status.lstrip(b"-").isdigit() else 1)
    os.execv(sys.executable, [sys.executable, "-m", "apache_beam.runners.worker.sdk_worker_main"])


# --- a warm process ----------------------------------------------------------------------------


def serve(folder: str, name: str, launcher: int) -> None:
    """Listens first (the runner may ask while we import), imports the worker's code, runs one harness.

    Only the first process imports at full priority; the others import in CPU time nobody
    else wants (SCHED_IDLE) until the runner claims them. On 2 cores the launcher and the
    first worker then get a core each, and the first frame waits for neither.
    """
    import threading

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.path.join(folder, f"{name}.sock")
    listener.bind(path)
    listener.listen(4)
    importer = threading.get_native_id()
    if name != "0":
        _set_policy(importer, getattr(os, "SCHED_IDLE", None))
    claimed: list[socket.socket] = []
    ready = threading.Event()

    def wait_for_the_runner() -> None:
        listener.settimeout(0.5)
        while not claimed:
            try:
                claimed.append(listener.accept()[0])
            except TimeoutError:
                if os.getppid() != launcher:  # the launcher is gone: nobody will ask
                    os._exit(0)
        listener.close()
        with _suppressed_os_error():
            os.unlink(path)
        _set_policy(importer, getattr(os, "SCHED_OTHER", None))  # claimed: full priority again
        claimed[0].sendall(HELLO)
        ready.set()

    threading.Thread(target=wait_for_the_runner, daemon=True).start()
    import apache_beam.runners.worker.sdk_worker_main as harness

    for module in PRELOAD:
        with _suppressed_import_error():
            importlib.import_module(module)
    ready.wait()
    conn = claimed[0]
    os.environ.update(json.loads(_recv_line(conn) or b"{}"))
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
    sys.exit(code)


def _set_policy(thread_id: int, policy: int | None) -> None:
    """Scheduling policy of one thread (Linux); SCHED_IDLE -> SCHED_OTHER needs no privilege."""
    if policy is not None:
        with _suppressed_os_error():
            os.sched_setscheduler(thread_id, policy, os.sched_param(0))


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
    """The warm processes of one launcher; stopped at exit if the runner never claimed them."""

    def __init__(self, workers: int):
        import atexit
        import subprocess
        import tempfile

        self.folder = tempfile.mkdtemp(prefix="recogenre-workers-")
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "recogenre.pipeline.warm_workers", "serve", self.folder, str(k)],
                stdin=subprocess.DEVNULL,
            )
            for k in range(workers)
        ]
        atexit.register(self.stop)

    def command(self) -> str:
        import shlex

        return " ".join(map(shlex.quote, [sys.executable, "-S", "-I", __file__, "attach", self.folder]))

    def stop(self) -> None:
        import shutil
        import subprocess

        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(beam_args: list[str]) -> WarmPool | None:
    """Starts the worker processes of a default local run now, before the launcher imports Beam."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
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
        or workers != len(pool.procs)
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
        attach(sys.argv[2])
    else:
        serve(sys.argv[2], sys.argv[3], os.getppid())
