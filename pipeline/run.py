"""``recogenre run``: tag a catalogue with Beam and publish a complete snapshot.

The launcher checks everything it can before starting workers (weights,
catalogue, output folder, the run lock), runs the pipeline, reads the
written tables back for the manifest, and only then switches ``latest``.
Bad input files are rows in ``errors`` and do not fail the run; a run that
fails exits non-zero with one message and leaves ``latest`` where it was.

With a previous snapshot in ``OUT/latest`` the run is incremental (see
``transforms/incremental.py``) unless ``--full`` is given or the settings
that shape results changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recogenre.analysis.logs import say
from recogenre.analysis.outcomes import EXIT_FAILED, CommandError, RunError, RunRefused
from recogenre.analysis.paths import is_remote
from recogenre.analysis.wording import count
from recogenre.pipeline import layout
from recogenre.pipeline.layout import read_tables
from recogenre.pipeline.manifest import (
    absolute_source,
    assemble_manifest,
    previous_snapshot,
    retried_error_types,
    settings,
)
from recogenre.pipeline.runners import (
    dask_runner,
    default_runner,
    model_threads,
    runner_problem,
    stage_cpu_seconds,
)
from recogenre.pipeline.summary import classify_failure, format_summary, summarise

if TYPE_CHECKING:  # catalogue_files imports Beam's filesystems
    from recogenre.analysis.catalogue_files import Inputs


def decode_limits(args: argparse.Namespace):
    """The per-file budget from ``--max-duration`` (``analysis/limits.py`` holds the defaults)."""
    from recogenre.analysis.limits import DecodeLimits

    return DecodeLimits.from_hours(args.max_duration)


def exclusions(args: argparse.Namespace):
    """What the listing leaves out: ``--exclude`` globs, plus the defaults unless
    ``--no-default-excludes`` (``analysis/exclusions.py``)."""
    from recogenre.analysis.exclusions import Exclusions

    return Exclusions(args.exclude, not args.no_default_excludes)


def progress_line(line: str) -> None:
    """A progress line (``progress: ...``), said without the ``recogenre:`` prefix."""
    say(line, prefix="")


@dataclass(frozen=True)
class RunResult:
    """A published run: what :func:`launch` returns."""

    run_id: str
    path: str  # the run's folder, OUT/runs/RUN_ID
    output: str  # OUT
    counts: dict[str, Any]  # summarise(): tracks, frames, errors, changes, genres, ...
    manifest: dict[str, Any]  # what manifest.json holds
    wall_s: float

    def summary(self) -> str:
        """The lines ``recogenre run`` prints on stdout when it is done."""
        return format_summary(self.run_id, self.path, self.output, self.counts, self.wall_s)


def launch(args: argparse.Namespace, *, warm_pool=None, shown_catalogue: str | None = None) -> RunResult:
    """Runs the pipeline and publishes the snapshot; progress and warnings go to stderr.

    Raises :class:`RunRefused` when the run cannot start (nothing is written; the holder
    is named when another run holds the output folder) and :class:`RunError` when it
    fails or is not published (``latest`` is unchanged). ``args`` are ``run``'s options
    (``pipeline/options.py``); ``warm_pool``: worker processes the command line already
    started; ``shown_catalogue``: the catalogue as the user named it (``evaluate`` runs a CSV
    it built from a folder).
    """
    from recogenre.pipeline import warm_workers

    # first: the workers' imports overlap ours (Beam's); the command line may have started them
    warm_pool = warm_pool or warm_workers.start(args.beam_args, args)
    from recogenre.analysis.catalogue_files import CatalogueError, list_inputs
    from recogenre.analysis.model_check import validated_weights
    from recogenre.analysis.weights import WeightsError

    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC)
    try:
        runner_object = dask_runner(args)
    except (RuntimeError, ValueError) as e:  # a Beam the Dask fixes do not know; misused options
        raise RunRefused(str(e)) from None
    unknown = None if runner_object else runner_problem(args.beam_args)
    if unknown:
        raise RunRefused(unknown)
    try:
        local_weights, digest = validated_weights(args.weights)
        inputs = list_inputs(args.catalogue, exclusions(args))
    except (WeightsError, CatalogueError) as e:
        raise RunRefused(str(e)) from None
    if inputs.count == 0:
        left_out = inputs.excluded.files + inputs.excluded.folders
        excluded = f" ({count(left_out, 'entry', 'entries')} excluded)" if left_out else ""
        raise RunRefused(f"no audio files in {args.catalogue}{excluded}")
    head, head_record = checked_head(args, digest)
    prepare_backend(args, local_weights, digest)
    # Workers read the weights from where the user pointed (any Beam filesystem);
    # locally that is the resolved file itself.
    worker_weights = args.weights if args.weights and is_remote(args.weights) else local_weights

    from recogenre.pipeline.lock import RunLock, acquire_or_reason

    lock = RunLock(args.output) if not is_remote(args.output) else None
    refused = acquire_or_reason(lock) if lock else None
    if refused:
        raise RunRefused(refused, exit_status=EXIT_FAILED)  # names the holder
    try:
        shown = shown_catalogue or args.catalogue
        context = _RunContext(
            started, started_at, inputs, worker_weights, digest, runner_object, warm_pool, shown,
            head, head_record,
        )
        return _locked_run(args, context)
    finally:
        if lock:
            lock.release()


def checked_head(args: argparse.Namespace, digest: str) -> tuple[Any, dict[str, Any] | None]:
    """``--head``'s head, loaded once here and checked against this run's weights and tracks
    columns before anything runs; with what the manifest records of it. A missing, damaged or
    foreign head raises :class:`RunRefused` (one line, exit 2)."""
    if not getattr(args, "head", None):
        return None, None
    from recogenre.analysis import schemas
    from recogenre.analysis.head import HeadError, load_head
    from recogenre.analysis.weights import sha256_of

    try:
        head = load_head(args.head)
        head.check_compatible(digest, schemas.TRACKS.names)
    except HeadError as e:
        raise RunRefused(str(e)) from None
    record = {
        "path": absolute_source(args.head),
        "sha256": sha256_of(args.head),
        "taxonomy": list(head.taxonomy),  # the order of user_scores
        "parents": head.parents,
        "threshold": head.threshold,
        "feature_set": head.feature_set,
        "feature_version": head.feature_version,
    }
    return head, record


def prepare_backend(args: argparse.Namespace, local_weights: str, digest: str) -> None:
    """Checks the backend options and converts the model once, before any worker starts;
    raises :class:`RunRefused` (bad options or weights) or :class:`RunError`."""
    from recogenre.analysis.backends import check, prepare

    try:
        check(args.backend, args.precision)
    except ValueError as e:
        raise RunRefused(str(e)) from None
    from recogenre.analysis.weights import WeightsError

    try:
        prepare(args.backend, local_weights, digest, args.precision)
    except WeightsError as e:  # weights the converted model cannot be proven equal for
        raise RunRefused(f"{args.weights or local_weights}: {e}") from None
    except Exception as e:
        raise RunError(f"cannot prepare the {args.backend} model: {type(e).__name__}: {e}") from None


@dataclass(frozen=True)
class _RunContext:
    """What the checks before the lock found, for the locked part of the run."""

    started: float  # time.monotonic()
    started_at: dt.datetime
    inputs: Inputs
    worker_weights: str
    digest: str
    dask_runner: object | None  # the fixed Dask runner, when the run asked for Dask
    warm_pool: object | None  # worker processes started early (pipeline/warm_workers.py)
    shown_catalogue: str
    head: Any = None  # run --head: the loaded analysis.head.Head
    head_record: dict[str, Any] | None = None  # what the manifest records of it


def _locked_run(args: argparse.Namespace, context: _RunContext) -> RunResult:
    started, started_at, inputs = context.started, context.started_at, context.inputs
    worker_weights, digest, shown = context.worker_weights, context.digest, context.shown_catalogue
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from recogenre.pipeline.confidence_options import confidence_settings

    leftovers = layout.remove_incomplete_runs(args.output)
    if leftovers:
        say(f"removed {len(leftovers)} unfinished run(s): {', '.join(leftovers)}")
    foreign = layout.foreign_entries(args.output)
    if foreign:
        say(f"warning: left alone {len(foreign)} folder(s) in {Path(args.output) / 'runs'} "
            f"that recogenre did not create: {', '.join(foreign)}"
        )
    current = settings(
        digest, args.trim_seconds, args.backend, args.precision, args.cover_tail
    )
    previous, mode = previous_snapshot(args, current)

    run_id = layout.new_run_id(started_at)
    try:
        run_path = layout.prepare(args.output, run_id)
    except OSError as e:
        raise RunError(f"cannot write to output folder {args.output}: {e.strerror or e}") from None

    options = PipelineOptions(args.beam_args)
    default_runner(options, args.beam_args)
    runner = options.view_as(StandardOptions).runner

    progress = printer = None
    folder = Path(run_path) / ".progress"
    from recogenre.analysis.progress import schedule

    every, steps = schedule(args.progress_seconds, sys.stderr.isatty())
    if not is_remote(run_path) and every > 0:
        from recogenre.analysis.progress import ProgressPrinter, ProgressWriter

        folder.mkdir()
        progress = ProgressWriter(str(folder))
        printer = ProgressPrinter(str(folder), inputs.count, progress_line, every=every, steps=steps)

    import apache_beam as beam

    from recogenre.analysis.tag_ledger import ledger_path, ledger_problem
    from recogenre.pipeline.graph import GraphSettings, build
    from recogenre.transforms.inference import CrnnModelHandler
    from recogenre.transforms.track_rows import RunInfo

    ledger = ledger_path(args.output)
    unusable = ledger_problem(ledger)
    if unusable:
        ledger = None
        say(f"warning: {unusable}; ignored (files changed by `recogenre tag` are decoded again)")
    basis = f"from {Path(previous).name}" if previous else mode
    say(f"run {run_id}: {count(inputs.count, 'file')} from {shown} with {runner}, {basis}")
    try:
        if printer:
            printer.start()
        from recogenre.pipeline import warm_workers

        runner_object = context.dask_runner or warm_workers.runner(context.warm_pool, options)
        p = beam.Pipeline(runner=runner_object, options=options)
        graph = GraphSettings(
            args.catalogue,
            RunInfo(run_id, digest),
            layout.output_dirs(run_path),
            CrnnModelHandler(
                worker_weights,
                digest,
                max_batch_size=args.batch_size,
                threads=args.model_threads or model_threads(options),
                backend=args.backend,
                precision=args.precision,
            ),
            trim_seconds=args.trim_seconds,
            progress=progress,
            previous_run=previous,
            full_reason=mode,
            frames_per_segment=args.segment_frames,
            limits=decode_limits(args),
            tag_ledger=ledger,  # recogenre tag's writes are not changes
            exclusions=exclusions(args),
            retry_errors=args.retry_errors,
            retry_types=retried_error_types(args, previous),
            head=context.head,
            **confidence_settings(args),
        )
        build(p, graph, inputs.entries)
        result = p.run()
        result.wait_until_finish()
        stage_cpu = stage_cpu_seconds(result)
        tables = read_tables(run_path)
    except Exception as e:
        from recogenre.analysis.logs import traceback_text_summary

        text = str(e)  # a worker's failure reaches the launcher as its traceback's text
        summary = f"{type(e).__name__}: {text}"
        if text.startswith("Traceback"):
            summary = traceback_text_summary(text)
        raise RunError(
            f"run {run_id} failed: {' '.join(summary.split())[:2000]}",
            f"{layout.LATEST} still points at the previous run",
        ) from None
    finally:
        if printer:
            printer.stop()
    shutil.rmtree(folder, ignore_errors=True)

    wall = time.monotonic() - started
    # What the listing left out (analysis/exclusions.py): in no table, counted here.
    excluded = {"excluded": inputs.excluded.files, "excluded_folders": inputs.excluded.folders}
    counts = {**summarise(tables), **excluded}
    manifest = assemble_manifest(
        args,
        run_id=run_id,
        shown_catalogue=shown,
        started_at=started_at,
        runner=runner,
        previous=previous,
        mode=mode,
        current=current,
        worker_weights=worker_weights,
        digest=digest,
        n_inputs=inputs.count,
        tables=tables,
        counts=counts,
        stage_cpu=stage_cpu,
        wall=wall,
        head=context.head_record,
    )
    rejection = classify_failure(tables, args.max_error_rate)
    if rejection:
        layout.write_rejection(run_path, {**manifest, "rejected": rejection})
        raise RunError(
            f"run {run_id} not published: {rejection}",
            f"{layout.LATEST} is unchanged; this run's results are kept in {run_path}",
        )
    # Conservation: every listed input is a track or an error row (excluded entries are not
    # inputs; the manifest counts them).
    if counts["tracks"] - counts["unverified"] + counts["errors"] != inputs.count:
        say(f"warning: {inputs.count} inputs but {counts['tracks']} tracks + {counts['errors']} errors")
    try:
        layout.write_manifest(run_path, manifest)
        layout.switch_latest(args.output, run_id)
    except OSError as e:
        raise RunError(f"run {run_id} finished but could not be published: {e}") from None
    pruned = layout.prune(args.output, max(1, args.keep))
    if pruned:
        say(f"pruned {len(pruned)} old run(s)")
    return RunResult(run_id, run_path, args.output, counts, manifest, wall)


def main(args: argparse.Namespace, *, warm_pool=None, shown_catalogue: str | None = None) -> int:
    """``recogenre run`` as a command: the outcome printed, and its exit status."""
    quiet_beam_logging()
    from recogenre.pipeline.interrupt import exit_on_signal

    return exit_on_signal(lambda: _command(args, warm_pool, shown_catalogue), args.output)


def _command(args: argparse.Namespace, warm_pool, shown_catalogue: str | None) -> int:
    try:
        result = launch(args, warm_pool=warm_pool, shown_catalogue=shown_catalogue)
    except CommandError as e:
        for line in e.lines:
            say(line)
        return e.exit_status
    print(result.summary(), flush=True)
    return 0


def quiet_beam_logging() -> None:
    """Beam's INFO chatter off; also for runs started from Python (``recogenre.run``)."""
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    # The DirectRunner forwards every worker's start-up warnings (semi-persistent
    # directory, unparsed options) through this logger; worker errors still show.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
