"""A finished run's counts, the lines ``recogenre run`` prints, and whether it may be published.

``classify_failure`` is the publish decision: a run in which the model failed too
often must not replace the published snapshot (``--max-error-rate``).
"""

from __future__ import annotations

import collections
from typing import Any

from recogenre.analysis.wording import count
from recogenre.pipeline import layout


def summarise(tables: dict[str, Any]) -> dict[str, Any]:
    from recogenre.analysis.schemas import CHANGE_KINDS

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
        # run --head: the user's own genres (empty without a head, or a snapshot before the column)
        "user_genres": dict(collections.Counter(tracks["user_genre"].dropna()))
        if "user_genre" in tracks.columns
        else {},
        **{k: by_change.get(k, 0) for k in CHANGE_KINDS},
        "decoded": len(decoded),
        # files this run tried and failed on; an unchanged file's carried error row is not one
        "failed": len(errors) - by_change.get("unchanged_error", 0),
        # folders that could not be listed (their files are unknown; previous tracks carried unverified)
        "unlisted_folders": int(((errors["stage"] == "read") & (errors["error_type"] == "unreadable")).sum()),
        "albums": len(tables["albums"]) if "albums" in tables else 0,  # absent: a caller's own tables
        "audio_seconds": float(tracks["duration_s"].sum()) if len(tracks) else 0.0,
        "decoded_audio_seconds": float(decoded["duration_s"].sum()) if len(decoded) else 0.0,
    }


def format_summary(run_id: str, run_path: str, out: str, counts: dict, wall: float) -> str:
    from recogenre.analysis.paths import printable
    from recogenre.analysis.schemas import CHANGE_KINDS

    audio_h = counts["audio_seconds"] / 3600
    shown = [k for k in CHANGE_KINDS if k not in ("unverified", "unchanged_error") or counts[k]]
    files = [
        count(counts[k], "unchanged error") if k == "unchanged_error" else f"{counts[k]} {k}" for k in shown
    ]
    left_out = [count(counts.get("excluded", 0), "file")] if counts.get("excluded") else []
    left_out += [count(counts["excluded_folders"], "folder")] if counts.get("excluded_folders") else []
    lines = [
        f"run {run_id}: {count(counts['tracks'], 'track')} ({counts['silent_tracks']} silent), "
        f"{count(counts['frames'], 'frame')}, {count(counts['errors'], 'error')}",
        "files: "
        + ", ".join(files)
        + f"; {counts['decoded']} decoded"
        + (f"; excluded {' and '.join(left_out)}" if left_out else ""),
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
    if counts.get("user_genres"):
        ranked = sorted(counts["user_genres"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("your genres: " + ", ".join(f"{g} {n}" for g, n in ranked))
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
