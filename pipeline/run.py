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
import collections
import datetime as dt
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from recogenre.pipeline import __version__, layout
from recogenre.transforms.wording import count

EXIT_FAILED = 1
EXIT_USAGE = 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--catalogue",
        required=True,
        metavar="SRC",
        help="folder, glob, or catalogue file (.csv/.jsonl/.parquet with a path column)",
    )
    p.add_argument(
        "--output", required=True, metavar="OUT", help="output folder (local or any Beam filesystem)"
    )
    p.add_argument("--full", action="store_true", help="classify everything, ignoring the previous snapshot")
    p.add_argument("--keep", type=int, default=7, metavar="N", help="complete runs to keep (default 7)")
    from recogenre.transforms.backends import DEFAULT_BATCH

    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH,
        metavar="N",
        help="largest batch of frames per model call",
    )
    p.add_argument(
        "--model-threads",
        type=int,
        default=None,
        metavar="N",
        help="model threads per worker process (default: chosen from the runner's layout)",
    )
    p.add_argument(
        "--segment-frames",
        type=int,
        default=16,
        metavar="N",
        help="split seekable files (WAV, FLAC, ...) longer than N frames between workers (0: never)",
    )
    from recogenre.transforms.limits import add_max_duration_argument

    add_max_duration_argument(p)
    p.add_argument(
        "--progress-seconds",
        type=float,
        default=None,
        metavar="S",
        help="seconds between progress lines on stderr (0: none; default: 10 on a terminal, "
        "otherwise 60 plus a line per 10%% of tracks)",
    )
    p.add_argument(
        "--max-error-rate",
        type=float,
        default=0.5,
        metavar="R",
        help="do not publish a run in which the model failed for more than this fraction of the files "
        "it classified (default 0.5), nor one in which it failed for every file",
    )
    from recogenre.pipeline import confidence_options

    confidence_options.add_arguments(p)
    p.add_argument(
        "--dask_address",
        metavar="URL",
        help="with --runner dask: the scheduler, e.g. tcp://HOST:8786 (default: a local cluster)",
    )
    p.add_argument(
        "--dask_scheduler_file",
        metavar="PATH",
        help="with --runner dask: the scheduler file written by `dask scheduler --scheduler-file`",
    )


def decode_limits(args: argparse.Namespace):
    """The per-file budget from ``--max-duration`` (``transforms/limits.py`` holds the defaults)."""
    from recogenre.transforms.limits import DecodeLimits

    return DecodeLimits.from_hours(getattr(args, "max_duration", None))


def say(message: str) -> None:
    from recogenre.pipeline.logs import one_line, stamped

    print(one_line(stamped(message)), file=sys.stderr, flush=True)


def settings(
    weights_sha256: str,
    trim_seconds: float,
    backend: str | None = None,
    precision: str | None = None,
    cover_tail: bool = False,
) -> dict[str, Any]:
    """What shapes the numbers: a snapshot made with other settings is not reused."""
    from recogenre.transforms.backends import DEFAULT_BACKEND, DEFAULT_PRECISION
    from recogenre.transforms.version import RESULTS_VERSION

    return {
        "results_version": RESULTS_VERSION,
        "weights_sha256": weights_sha256,
        "trim_seconds": trim_seconds,
        "backend": backend or DEFAULT_BACKEND,
        "precision": precision or DEFAULT_PRECISION,
        "cover_tail": bool(cover_tail),  # adds a frame; --min-confidence only relabels, so it is an option
    }


def read_tables(run_path: str) -> dict[str, Any]:
    """The written tables, as pandas DataFrames (schemas applied even when empty)."""
    import pyarrow.dataset as ds

    from recogenre.transforms import schemas

    tables = {}
    for name, schema in (
        ("tracks", schemas.TRACKS),
        ("frames", schemas.FRAMES),
        ("errors", schemas.ERRORS),
        ("changes", schemas.CHANGES),
    ):
        folder = f"{run_path}/{name}"
        if not layout.FileSystems.exists(folder):
            tables[name] = schema.empty_table().to_pandas()
            continue
        tables[name] = ds.dataset(folder, schema=schema, format="parquet").to_table().to_pandas()
    return tables


def summarise(tables: dict[str, Any]) -> dict[str, Any]:
    from recogenre.transforms.schemas import CHANGE_KINDS

    tracks, frames, errors, changes = tables["tracks"], tables["frames"], tables["errors"], tables["changes"]
    by_change = collections.Counter(changes["change"])
    # Throughput and "decoded" count only the tracks this run decoded and classified: carried-over
    # tracks cost nothing, and a file that failed to decode is an error row, not a decoded file.
    fresh = set(changes.loc[changes["change"].isin(("new", "changed", "retried")), "path"])
    decoded = tracks[tracks["path"].isin(fresh)] if len(changes) else tracks
    return {
        "tracks": len(tracks),
        "frames": len(frames),
        "errors": len(errors),
        "silent_tracks": int(tracks["top_genre"].isna().sum()),
        "silent_frames": int(frames["silent"].sum()) if len(frames) else 0,
        "errors_by_type": dict(collections.Counter(errors["error_type"])),
        "genres": dict(collections.Counter(tracks["top_genre"].dropna())),
        **{k: by_change.get(k, 0) for k in CHANGE_KINDS},
        "decoded": len(decoded),
        "failed": len(errors),
        # folders that could not be listed (their files are unknown; previous tracks carried unverified)
        "unlisted_folders": int(((errors["stage"] == "read") & (errors["error_type"] == "unreadable")).sum()),
        "audio_seconds": float(tracks["duration_s"].sum()) if len(tracks) else 0.0,
        "decoded_audio_seconds": float(decoded["duration_s"].sum()) if len(decoded) else 0.0,
    }


def format_summary(run_id: str, run_path: str, out: str, counts: dict, wall: float) -> str:
    from recogenre.transforms.paths import printable
    from recogenre.transforms.schemas import CHANGE_KINDS

    audio_h = counts["audio_seconds"] / 3600
    lines = [
        f"run {run_id}: {count(counts['tracks'], 'track')} ({counts['silent_tracks']} silent), "
        f"{count(counts['frames'], 'frame')}, {count(counts['errors'], 'error')}",
        "files: "
        + ", ".join(f"{counts[k]} {k}" for k in CHANGE_KINDS if k != "unverified" or counts[k])
        + f"; {counts['decoded']} decoded",
    ]
    if counts.get("unlisted_folders"):
        lines.append(
            f"warning: {counts['unlisted_folders']} folder(s) could not be listed (errors, stage read); "
            f"{counts['unverified']} track(s) seen under them before are carried over unverified"
        )
    if counts["errors_by_type"]:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["errors_by_type"].items())))
    if counts["genres"]:
        ranked = sorted(counts["genres"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("genres: " + ", ".join(f"{g} {n}" for g, n in ranked))
    lines.append(
        f"wall time {wall:.1f} s; {throughput(counts, wall)}; the snapshot holds {audio_h:.2f} h of audio"
    )
    lines.append(f"results: {run_path}  (latest: {layout.FileSystems.join(out, layout.LATEST)})")
    return "\n".join(printable(line) for line in lines)


def classify_failure(tables: dict[str, Any], max_error_rate: float) -> str | None:
    """Why a finished run must not replace the published one, or None.

    The model failed for every file it tried, or for more than
    ``max_error_rate`` of them: broken weights or a broken worker, not bad
    files, and results that would wipe good ones out. Files it tried are
    those this run classified (carried-over and silent tracks excluded)
    plus those it failed on.
    """
    errors, tracks = tables["errors"], tables["tracks"]
    failed = int((errors["stage"] == "classify").sum())
    if failed == 0:
        return None
    audible = tracks["n_frames"] > tracks["n_silent_frames"]
    changes = tables["changes"]
    carried = tracks["path"].isin(changes.loc[changes["change"].isin(("unchanged", "unverified")), "path"])
    tried = failed + int((audible & ~carried).sum())
    if failed == tried or failed > max_error_rate * tried:
        worst = errors.loc[errors["stage"] == "classify", "error_type"].value_counts().index[0]
        return (
            f"the model failed for {failed} of the {tried} files it classified (mostly {worst}; "
            f"--max-error-rate {max_error_rate:g})"
        )
    return None


def realtime_factor(counts: dict, wall: float) -> float | None:
    """Seconds of audio decoded and classified per wall second; None when nothing was decoded."""
    decoded = counts.get("decoded_audio_seconds", 0.0)
    return decoded / wall if decoded > 0 and wall > 0 else None


def throughput(counts: dict, wall: float) -> str:
    speed = realtime_factor(counts, wall)
    if speed is None:
        return "nothing decoded (every track carried over)" if counts["tracks"] else "nothing decoded"
    return f"decoded {counts['decoded_audio_seconds'] / 3600:.2f} h of audio at {speed:.1f}x real-time"


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


def dask_runner(args: argparse.Namespace):
    """The fixed Dask runner when the run asks for Dask (any --runner naming dask, or a dask
    address), None otherwise; UnsupportedBeam/ValueError carry a one-line usage message."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    runner = PipelineOptions(args.beam_args).view_as(StandardOptions).runner or ""
    address, scheduler_file = getattr(args, "dask_address", None), getattr(args, "dask_scheduler_file", None)
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
        return f"--runner {name}: {' '.join(str(e).split())}"
    return None


def absolute_source(source: str) -> str | None:
    """A local catalogue source as an absolute path in stored form (None for a remote one)."""
    import os

    from recogenre.transforms.paths import from_os_path, is_remote, to_os_path

    return None if is_remote(source) else from_os_path(os.path.abspath(to_os_path(source)))


def previous_snapshot(args: argparse.Namespace, current: dict[str, Any]) -> tuple[str | None, str]:
    """The snapshot to start from, or None with the reason for a full run."""
    if args.full:
        return None, "full run (--full)"
    previous = layout.latest_run(args.output)
    if previous is None:
        return None, "first run"
    manifest = layout.read_manifest(previous) or {}
    changed = [k for k, v in current.items() if manifest.get("settings", {}).get(k) != v]
    if changed:
        return None, f"full run ({', '.join(changed)} changed)"
    return previous, "incremental"


def run(args: argparse.Namespace) -> int:
    from recogenre.pipeline import warm_workers

    # first: the workers' imports overlap ours (Beam's); the command line may have started them
    args.warm_pool = getattr(args, "warm_pool", None) or warm_workers.start(args.beam_args, args)
    from recogenre.transforms.catalogue import CatalogueError, count_inputs
    from recogenre.transforms.model_check import validated_weights
    from recogenre.transforms.weights import WeightsError

    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC)
    try:
        args.runner_object = dask_runner(args)
    except (RuntimeError, ValueError) as e:  # a Beam the Dask fixes do not know; misused options
        say(f"recogenre: {e}")
        return EXIT_USAGE
    unknown = None if args.runner_object else runner_problem(args.beam_args)
    if unknown:
        say(f"recogenre: {unknown}")
        return EXIT_USAGE
    try:
        local_weights, digest = validated_weights(args.weights)
        n_inputs = count_inputs(args.catalogue)
    except (WeightsError, CatalogueError) as e:
        say(f"recogenre: {e}")
        return EXIT_USAGE
    if n_inputs == 0:
        say(f"recogenre: no audio files in {args.catalogue}")
        return EXIT_USAGE
    failed = prepare_backend(args, local_weights, digest)
    if failed is not None:
        return failed
    # Workers read the weights from where the user pointed (any Beam filesystem);
    # locally that is the resolved file itself.
    worker_weights = args.weights if args.weights and "://" in args.weights else local_weights

    from recogenre.pipeline.lock import RunLock, acquire_or_reason

    lock = RunLock(args.output) if layout.is_local(args.output) else None
    refused = acquire_or_reason(lock) if lock else None
    if refused:
        say(f"recogenre: {refused}")
        return EXIT_FAILED
    try:
        return _locked_run(args, started, started_at, n_inputs, worker_weights, digest)
    finally:
        if lock:
            lock.release()


def prepare_backend(args: argparse.Namespace, local_weights: str, digest: str) -> int | None:
    """Checks the backend options and converts the model once, before any worker starts."""
    from recogenre.transforms.backends import DEFAULT_BACKEND, DEFAULT_PRECISION, check, prepare

    # Callers that build their own Namespace (evaluate, other front ends) get the defaults.
    args.backend = getattr(args, "backend", None) or DEFAULT_BACKEND
    args.precision = getattr(args, "precision", None) or DEFAULT_PRECISION
    try:
        check(args.backend, args.precision)
    except ValueError as e:
        say(f"recogenre: {e}")
        return EXIT_USAGE
    from recogenre.transforms.weights import WeightsError

    try:
        prepare(args.backend, local_weights, digest)
    except WeightsError as e:  # weights the converted model cannot be proven equal for
        say(f"recogenre: {args.weights or local_weights}: {e}")
        return EXIT_USAGE
    except Exception as e:
        say(f"recogenre: cannot prepare the {args.backend} model: {type(e).__name__}: {e}")
        return EXIT_FAILED
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


def _locked_run(args, started, started_at, n_inputs, worker_weights, digest) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from recogenre.pipeline.confidence_options import confidence_settings
    from recogenre.transforms.frames import FRAME_SECONDS, HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE

    leftovers = layout.remove_incomplete_runs(args.output)
    if leftovers:
        say(f"recogenre: removed {len(leftovers)} unfinished run(s): {', '.join(leftovers)}")
    foreign = layout.foreign_entries(args.output)
    if foreign:
        say(
            f"recogenre: warning: left alone {len(foreign)} folder(s) in {Path(args.output) / 'runs'} "
            f"that recogenre did not create: {', '.join(foreign)}"
        )
    current = settings(
        digest, args.trim_seconds, args.backend, args.precision, getattr(args, "cover_tail", False)
    )
    previous, mode = previous_snapshot(args, current)

    run_id = layout.new_run_id(started_at)
    try:
        run_path = layout.prepare(args.output, run_id)
    except OSError as e:
        say(f"recogenre: cannot write to output folder {args.output}: {e.strerror or e}")
        return EXIT_FAILED

    options = PipelineOptions(args.beam_args)
    default_runner(options, args.beam_args)
    runner = options.view_as(StandardOptions).runner

    progress = printer = None
    folder = Path(run_path) / ".progress"
    from recogenre.transforms.progress import schedule

    every, steps = schedule(args.progress_seconds, sys.stderr.isatty())
    if layout.is_local(run_path) and every > 0:
        from recogenre.transforms.progress import ProgressPrinter, ProgressWriter

        folder.mkdir()
        progress = ProgressWriter(str(folder))
        printer = ProgressPrinter(str(folder), n_inputs, say, every=every, steps=steps)

    import apache_beam as beam

    from recogenre.pipeline.graph import build
    from recogenre.transforms.inference import CrnnModelHandler
    from recogenre.transforms.tag_ledger import ledger_path, ledger_problem
    from recogenre.transforms.track_rows import RunInfo

    ledger = ledger_path(args.output)
    unusable = ledger_problem(ledger)
    if unusable:
        ledger = None
        say(f"recogenre: warning: {unusable}; ignored (files changed by `recogenre tag` are decoded again)")
    basis = f"from {Path(previous).name}" if previous else mode
    shown = getattr(args, "catalogue_shown", None) or args.catalogue
    say(f"recogenre: run {run_id}: {count(n_inputs, 'file')} from {shown} with {runner}, {basis}")
    try:
        if printer:
            printer.start()
        from recogenre.pipeline import warm_workers

        runner_object = getattr(args, "runner_object", None)
        runner_object = runner_object or warm_workers.runner(getattr(args, "warm_pool", None), options)
        p = beam.Pipeline(runner=runner_object, options=options)
        build(
            p,
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
            **confidence_settings(args),
        )
        result = p.run()
        result.wait_until_finish()
        stage_cpu = stage_cpu_seconds(result)
        tables = read_tables(run_path)
    except Exception as e:
        from recogenre.pipeline.logs import traceback_text_summary

        text = str(e)  # a worker's failure reaches the launcher as its traceback's text
        summary = f"{type(e).__name__}: {text}"
        if text.startswith("Traceback"):
            summary = traceback_text_summary(text)
        say(f"recogenre: run {run_id} failed: {' '.join(summary.split())[:2000]}")
        say(f"recogenre: {layout.LATEST} still points at the previous run")
        return EXIT_FAILED
    finally:
        if printer:
            printer.stop()
    shutil.rmtree(folder, ignore_errors=True)

    wall = time.monotonic() - started
    counts = summarise(tables)
    changes = tables["changes"]
    manifest = {
        "run_id": run_id,
        "started_at": started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "catalogue": getattr(args, "catalogue_shown", None) or args.catalogue,  # evaluate: the user's
        "catalogue_path": absolute_source(args.catalogue),  # what `tag --export` may not write into
        "output": args.output,
        "runner": runner,
        "mode": "incremental" if previous else mode,
        "previous_run": Path(previous).name if previous else None,
        "settings": current,
        "options": {
            "trim_seconds": args.trim_seconds,
            "batch_size": args.batch_size,
            # Not a setting: results of files under the limit do not depend on it.
            "max_duration_h": args.max_duration,
            "backend": args.backend,
            "precision": args.precision,
            **confidence_settings(args),
            "weights": worker_weights,
            "beam_args": args.beam_args,
        },
        "weights_sha256": digest,
        "package_version": __version__,
        "frontend": {
            "sample_rate": SAMPLE_RATE,
            "n_fft": N_FFT,
            "hop_length": HOP_LENGTH,
            "n_mels": N_MELS,
            "frame_seconds": FRAME_SECONDS,
        },
        "counts": {
            "inputs": n_inputs,
            **{k: v for k, v in counts.items() if k not in ("audio_seconds", "decoded_audio_seconds")},
        },
        "removed": sorted(changes.loc[changes["change"] == "removed", "path"]),
        "unverified": sorted(changes.loc[changes["change"] == "unverified", "path"]),
        "stage_cpu_seconds": stage_cpu,
        "wall_time_s": round(wall, 3),
        "audio_hours": counts["audio_seconds"] / 3600,
        "decoded_audio_hours": counts["decoded_audio_seconds"] / 3600,
        "x_realtime": realtime_factor(counts, wall),
    }
    rejection = classify_failure(tables, args.max_error_rate)
    if rejection:
        layout.write_rejection(run_path, {**manifest, "rejected": rejection})
        say(f"recogenre: run {run_id} not published: {rejection}")
        say(f"recogenre: {layout.LATEST} is unchanged; this run's results are kept in {run_path}")
        return EXIT_FAILED
    if counts["tracks"] - counts["unverified"] + counts["errors"] != n_inputs:
        say(
            f"recogenre: warning: {n_inputs} inputs but {counts['tracks']} tracks + {counts['errors']} errors"
        )
    try:
        layout.write_manifest(run_path, manifest)
        layout.switch_latest(args.output, run_id)
    except OSError as e:
        say(f"recogenre: run {run_id} finished but could not be published: {e}")
        return EXIT_FAILED
    pruned = layout.prune(args.output, max(1, args.keep))
    if pruned:
        say(f"recogenre: pruned {len(pruned)} old run(s)")
    print(format_summary(run_id, run_path, args.output, counts, wall), flush=True)
    return 0


def main(args: argparse.Namespace) -> int:
    quiet_beam_logging()
    from recogenre.pipeline.interrupt import exit_on_signal

    return exit_on_signal(lambda: run(args), args.output)


def quiet_beam_logging() -> None:
    """Beam's INFO chatter off; also for runs started from Python (``recogenre.run``)."""
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    # The DirectRunner forwards every worker's start-up warnings (semi-persistent
    # directory, unparsed options) through this logger; worker errors still show.
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
