"""What a run records about itself: the settings that shape results, and ``manifest.json``.

``settings`` decides whether a previous snapshot can be reused (``previous_snapshot``);
``assemble_manifest`` gathers what the launcher knows at the end of a run into the
manifest ``layout.write_manifest`` publishes (docs/results.md describes its fields).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from recogenre.pipeline import __version__, layout
from recogenre.pipeline.summary import realtime_factor


def settings(
    weights_sha256: str,
    trim_seconds: float,
    backend: str,
    precision: str,
    cover_tail: bool,
) -> dict[str, Any]:
    """What shapes the numbers: a snapshot made with other settings is not reused."""
    from recogenre.analysis.version import RESULTS_VERSION

    return {
        "results_version": RESULTS_VERSION,
        "weights_sha256": weights_sha256,
        "trim_seconds": trim_seconds,
        "backend": backend,
        "precision": precision,
        "cover_tail": bool(cover_tail),  # adds a frame; --min-confidence only relabels, so it is an option
    }


def absolute_source(source: str) -> str | None:
    """A local catalogue source as an absolute path in stored form (None for a remote one)."""
    import os

    from recogenre.analysis.paths import from_os_path, is_remote, to_os_path

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


def retried_error_types(args: argparse.Namespace, previous: str | None) -> frozenset[str]:
    """Error types a nightly run tries again although the file did not change
    (analysis/error_carry.py): ``too_long`` when ``--max-duration`` differs from the previous run's."""
    if previous is None:
        return frozenset()
    options = (layout.read_manifest(previous) or {}).get("options", {})
    return frozenset() if options.get("max_duration_h") == args.max_duration else frozenset({"too_long"})


def assemble_manifest(
    args: argparse.Namespace,
    *,
    run_id: str,
    shown_catalogue: str,
    started_at: dt.datetime,
    runner: str,
    previous: str | None,
    mode: str,
    current: dict[str, Any],
    worker_weights: str,
    digest: str,
    n_inputs: int,
    tables: dict[str, Any],
    counts: dict[str, Any],
    stage_cpu: dict[str, float],
    wall: float,
    head: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's ``manifest.json`` (or, with ``rejected`` added, its ``rejected.json``)."""
    from recogenre.analysis.frames import FRAME_SECONDS, HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE
    from recogenre.pipeline.confidence_options import confidence_settings

    changes = tables["changes"]
    return {
        "run_id": run_id,
        "started_at": started_at.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "catalogue": shown_catalogue,  # evaluate: the user's, not the CSV it built
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
            "exclude": list(args.exclude),  # analysis/exclusions.py
            "default_excludes": not args.no_default_excludes,
            "retry_errors": args.retry_errors,
            "backend": args.backend,
            "precision": args.precision,
            **confidence_settings(args),
            "weights": worker_weights,
            "beam_args": args.beam_args,
            # run --head: not a setting (it relabels from stored features, like --min-confidence)
            "head": head,
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
