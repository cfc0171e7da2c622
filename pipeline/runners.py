"""Which Beam runner a run uses, and how: the DirectRunner's layout, the Dask runner, checks.

Decided in the launcher before the run folder or the lock exist, so that a runner
typo is a usage error that leaves nothing behind.
"""

from __future__ import annotations

import argparse

from recogenre.analysis.logs import error_text


def model_threads(options) -> int | None:
    """Threads per model: the cores each worker process owns.

    The DirectRunner in multi-processing mode starts ``direct_num_workers``
    processes (0: one per core); each gets an equal share. Elsewhere the
    runner decides the process layout, and TensorFlow's default stands.
    """
    import os

    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    if options.view_as(StandardOptions).runner not in ("DirectRunner", "direct"):
        return None
    direct = options.view_as(DirectOptions)
    cores = os.cpu_count() or 1
    if direct.direct_running_mode != "multi_processing":
        return cores
    workers = direct.direct_num_workers or cores
    return max(1, cores // workers)


def dask_runner(args: argparse.Namespace):
    """The fixed Dask runner when the run asks for Dask (any --runner naming dask, or a dask
    address), None otherwise; UnsupportedBeam/ValueError carry a one-line usage message."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    runner = PipelineOptions(args.beam_args).view_as(StandardOptions).runner or ""
    address, scheduler_file = args.dask_address, args.dask_scheduler_file
    wants_address = bool(address or scheduler_file)
    if "dask" not in runner.lower():
        if wants_address and runner:
            raise ValueError(f"--dask_address/--dask_scheduler_file need --runner dask, not {runner}")
        if not wants_address:
            return None
    from recogenre.pipeline import dask_runner as dr

    dr.check_beam_version()
    kept, skip = [], False
    for a in args.beam_args:  # drop "--runner X" / "--runner=X": the runner object replaces it
        if skip or a.startswith("--runner="):
            skip = False
        elif a == "--runner":
            skip = True
        else:
            kept.append(a)
    args.beam_args = [*kept, "--runner=dask", *dr.dask_client_args(address, scheduler_file)]
    return dr.FixedDaskRunner()


def runner_problem(beam_args: list[str]) -> str | None:
    """Why ``--runner`` names no runner this Beam can start, or None; checked before the
    run folder or the lock exist, so a typo is a usage error that leaves nothing behind."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.runners.runner import create_runner

    name = PipelineOptions(beam_args).view_as(StandardOptions).runner
    if not name:
        return None
    try:
        create_runner(name)
    except (ValueError, ImportError, AttributeError) as e:
        return f"--runner {name}: {error_text(e)}"
    return None


def default_runner(options, beam_args: list[str]) -> None:
    """With no runner options: the DirectRunner on all cores (one worker process per core).

    Beam's own default is one in-process worker; ``--direct_num_workers=1`` or
    ``--direct_running_mode=in_memory`` still choose it.
    """
    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    if options.view_as(StandardOptions).runner is None:
        options.view_as(StandardOptions).runner = "DirectRunner"
    if options.view_as(StandardOptions).runner not in ("DirectRunner", "direct"):
        return
    direct = options.view_as(DirectOptions)
    given = {a.split("=", 1)[0] for a in beam_args}
    if "--direct_running_mode" in given:
        return
    if "--direct_num_workers" not in given:
        direct.direct_num_workers = 0  # one per core
    if direct.direct_num_workers != 1:
        direct.direct_running_mode = "multi_processing"


def stage_cpu_seconds(result) -> dict[str, float]:
    """CPU seconds per stage from the workers' Beam counters (empty where a runner has none)."""
    from apache_beam.metrics.metric import MetricsFilter

    try:
        counters = result.metrics().query(MetricsFilter().with_namespace("recogenre"))["counters"]
    except Exception:
        return {}
    totals: dict[str, float] = {}
    for c in counters:
        name = c.key.metric.name
        if name.startswith("cpu_ms_"):
            totals[name.removeprefix("cpu_ms_")] = (
                totals.get(name.removeprefix("cpu_ms_"), 0) + c.committed / 1000
            )
    return totals
