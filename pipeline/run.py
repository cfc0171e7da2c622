"""``recogenre run``: tag a catalogue with Beam and publish a complete snapshot.

The launcher checks everything it can before starting workers (weights,
catalogue, output folder), runs the pipeline, reads the written tables back
for the manifest, and only then switches ``latest``. Bad input files are
rows in ``errors`` and do not fail the run; a run that fails exits non-zero
with one message and leaves ``latest`` where it was.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import logging
import sys
import time
from typing import Any

from pipeline import __version__, layout


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
    p.add_argument(
        "--batch-size", type=int, default=16, metavar="N", help="largest batch of frames per model call"
    )
    p.add_argument(
        "--progress-seconds",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between progress lines on stderr (0: none)",
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def read_tables(run_path: str) -> dict[str, Any]:
    """The written tables, as pandas DataFrames (schemas applied even when empty)."""
    import pyarrow.dataset as ds

    from transforms import schemas

    tables = {}
    for name, schema in (("tracks", schemas.TRACKS), ("frames", schemas.FRAMES), ("errors", schemas.ERRORS)):
        tables[name] = (
            ds.dataset(f"{run_path}/{name}", schema=schema, format="parquet").to_table().to_pandas()
        )
    return tables


def summarise(tables: dict[str, Any]) -> dict[str, Any]:
    tracks, frames, errors = tables["tracks"], tables["frames"], tables["errors"]
    audio_s = float(tracks["duration_s"].sum()) if len(tracks) else 0.0
    return {
        "tracks": len(tracks),
        "frames": len(frames),
        "errors": len(errors),
        "silent_tracks": int(tracks["top_genre"].isna().sum()),
        "silent_frames": int(frames["silent"].sum()) if len(frames) else 0,
        "errors_by_type": dict(collections.Counter(errors["error_type"])),
        "genres": dict(collections.Counter(tracks["top_genre"].dropna())),
        "audio_seconds": audio_s,
    }


def format_summary(run_id: str, run_path: str, out: str, counts: dict, wall: float) -> str:
    audio_h = counts["audio_seconds"] / 3600
    lines = [
        f"run {run_id}: {counts['tracks']} tracks ({counts['silent_tracks']} silent), "
        f"{counts['frames']} frames, {counts['errors']} errors",
    ]
    if counts["errors_by_type"]:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["errors_by_type"].items())))
    if counts["genres"]:
        ranked = sorted(counts["genres"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("genres: " + ", ".join(f"{g} {n}" for g, n in ranked))
    speed = counts["audio_seconds"] / wall if wall > 0 else 0.0
    lines.append(f"wall time {wall:.1f} s for {audio_h:.2f} h of audio: {speed:.1f}x real-time")
    lines.append(f"results: {run_path}  (latest: {layout.FileSystems.join(out, layout.LATEST)})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from transforms.catalogue import CatalogueError, count_inputs
    from transforms.frames import FRAME_SECONDS, HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE
    from transforms.weights import WeightsError, resolve_weights

    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC)
    weights_arg = args.weights
    try:
        local_weights, digest = resolve_weights(weights_arg)
        n_inputs = count_inputs(args.catalogue)
    except (WeightsError, CatalogueError) as e:
        say(f"recogenre: {e}")
        return 2
    if n_inputs == 0:
        say(f"recogenre: no audio files in {args.catalogue}")
        return 2
    # Workers read the weights from where the user pointed (any Beam filesystem);
    # locally that is the resolved file itself.
    worker_weights = weights_arg if weights_arg and "://" in weights_arg else local_weights

    run_id = layout.new_run_id(started_at)
    try:
        run_path = layout.prepare(args.output, run_id)
    except OSError as e:
        say(f"recogenre: cannot write to output folder {args.output}: {e.strerror or e}")
        return 1

    options = PipelineOptions(args.beam_args)
    if options.view_as(StandardOptions).runner is None:
        options.view_as(StandardOptions).runner = "DirectRunner"
    runner = options.view_as(StandardOptions).runner

    progress = printer = None
    if layout.is_local(run_path) and args.progress_seconds > 0:
        from pathlib import Path

        from transforms.progress import ProgressPrinter, ProgressWriter

        folder = Path(run_path) / ".progress"
        folder.mkdir()
        progress = ProgressWriter(str(folder))
        printer = ProgressPrinter(str(folder), n_inputs, say, every=args.progress_seconds)

    import apache_beam as beam

    from pipeline.graph import build
    from transforms.inference import CrnnModelHandler
    from transforms.track_rows import RunInfo

    say(f"recogenre: run {run_id}: {n_inputs} files from {args.catalogue} with {runner}")
    try:
        if printer:
            printer.start()
        with beam.Pipeline(options=options) as p:
            build(
                p,
                args.catalogue,
                RunInfo(run_id, digest),
                layout.output_dirs(run_path),
                CrnnModelHandler(worker_weights, digest, max_batch_size=args.batch_size),
                trim_seconds=args.trim_seconds,
                progress=progress,
            )
        tables = read_tables(run_path)
    except Exception as e:
        say(f"recogenre: run {run_id} failed: {type(e).__name__}: {' '.join(str(e).split())[:2000]}")
        say(f"recogenre: {layout.LATEST} still points at the previous run")
        return 1
    finally:
        if printer:
            printer.stop()
    if progress is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)

    wall = time.monotonic() - started
    counts = summarise(tables)
    manifest = {
        "run_id": run_id,
        "started_at": started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "catalogue": args.catalogue,
        "output": args.output,
        "runner": runner,
        "options": {
            "trim_seconds": args.trim_seconds,
            "batch_size": args.batch_size,
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
        "counts": {"inputs": n_inputs, **{k: v for k, v in counts.items() if k != "audio_seconds"}},
        "wall_time_s": round(wall, 3),
        "audio_hours": counts["audio_seconds"] / 3600,
        "x_realtime": counts["audio_seconds"] / wall if wall > 0 else None,
    }
    if counts["tracks"] + counts["errors"] != n_inputs:
        say(
            f"recogenre: warning: {n_inputs} inputs but {counts['tracks']} tracks + {counts['errors']} errors"
        )
    try:
        layout.write_manifest(run_path, manifest)
        layout.switch_latest(args.output, run_id)
    except OSError as e:
        say(f"recogenre: run {run_id} finished but could not be published: {e}")
        return 1
    print(format_summary(run_id, run_path, args.output, counts, wall), flush=True)
    return 0


def main(args: argparse.Namespace) -> int:
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    return run(args)
