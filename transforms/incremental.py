"""Nightly runs: decide per file whether to classify it again or carry it over.

A file is classified again when it is new, failed last time, or its content
changed. Size and mtime equal to the previous snapshot's mean unchanged
without reading the file; when either differs the content's sha256 decides,
so a touched-but-identical file is carried over and a same-size rewrite is
not. Carried tracks keep their rows (and frames) from the previous snapshot.
Changed settings (weights, front end, trim) are handled by the launcher,
which then starts from no snapshot at all.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.audio_frames import to_datetime
from transforms.catalogue import CatalogueEntry, content_sha256, file_stats

CARRIED_TAG = "carried"
CHANGES_TAG = "changes"


class Change(NamedTuple):
    path: str
    track_id: str | None
    change: str  # new, changed, unchanged, retried, removed
    reason: str


def _same_mtime(previous: dt.datetime | None, seconds: float | None) -> bool:
    if previous is None or seconds is None:
        return False
    return abs(previous.timestamp() - seconds) < 1e-5  # Parquet keeps microseconds


class PlanFile(beam.DoFn):
    """(path, {entry, track, error}) -> entries to decode; carried rows on ``carried``;
    one Change per path on ``changes``."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.counters = {
            k: Metrics.counter("recogenre", f"files_{k}")
            for k in ("new", "changed", "unchanged", "retried", "removed")
        }

    def process(self, joined):
        path, parts = joined
        entries, tracks, errors = list(parts["entry"]), list(parts["track"]), list(parts["error"])
        if not entries:
            if tracks:
                yield self._change(
                    Change(path, tracks[0]["track_id"], "removed", "file no longer in the catalogue")
                )
            return
        entry: CatalogueEntry = file_stats(entries[0])
        if not tracks:
            if errors:
                yield self._change(Change(path, entry.track_id, "retried", "failed in the previous run"))
            else:
                yield self._change(Change(path, entry.track_id, "new", "not in the previous snapshot"))
            yield entry
            return
        previous = tracks[0]
        if previous["size_bytes"] == entry.size_bytes and _same_mtime(previous["mtime"], entry.mtime):
            yield from self._carry(entry, previous, "same size and mtime")
            return
        try:
            fingerprint = content_sha256(path)
        except Exception:
            fingerprint = None  # unreadable now: decoding will report why
        if fingerprint is not None and fingerprint == previous["content_sha256"]:
            yield from self._carry(entry, previous, "same content, new mtime")
            return
        yield self._change(Change(path, entry.track_id, "changed", "content changed"))
        yield entry

    def _carry(self, entry: CatalogueEntry, previous: dict, reason: str):
        row = {
            "decode_warnings": None,  # a snapshot written before the column existed
            **previous,
            "track_id": entry.track_id,
            "label": entry.label,
            "mtime": to_datetime(entry.mtime),
            "run_id": self.run_id,
        }
        yield beam.pvalue.TaggedOutput(CARRIED_TAG, (previous["track_id"], row))
        yield self._change(Change(entry.path, entry.track_id, "unchanged", reason))

    def _change(self, change: Change):
        self.counters[change.change].inc()
        return beam.pvalue.TaggedOutput(CHANGES_TAG, {**change._asdict(), "run_id": self.run_id})


class PlanChanges(beam.PTransform):
    """Entries + the previous snapshot -> {decode, carried, changes}."""

    def __init__(self, previous_run: str, run_id: str):
        super().__init__()
        self.previous_run, self.run_id = previous_run, run_id

    def expand(self, entries):
        p = entries.pipeline
        tracks = (
            p
            | "Previous tracks" >> beam.io.ReadFromParquet(f"{self.previous_run}/tracks/*.parquet")
            | "Tracks by path" >> beam.WithKeys(lambda row: row["path"])
        )
        errors = (
            p
            | "Previous errors" >> beam.io.ReadFromParquet(f"{self.previous_run}/errors/*.parquet")
            | "Errors by path" >> beam.WithKeys(lambda row: row["path"])
        )
        planned = (
            {
                "entry": entries | "Entries by path" >> beam.WithKeys(lambda e: e.path),
                "track": tracks,
                "error": errors,
            }
            | "Join with previous" >> beam.CoGroupByKey()
            | "Plan each file"
            >> beam.ParDo(PlanFile(self.run_id)).with_outputs(CARRIED_TAG, CHANGES_TAG, main="decode")
        )
        return {"decode": planned.decode, "carried": planned.carried, "changes": planned.changes}


def _carried_frames(joined):
    _, parts = joined
    carried = list(parts["track"])
    if not carried:
        return
    new_id = carried[0]["track_id"]
    for frame in parts["frames"]:
        yield {**frame, "track_id": new_id}


class CarryFrames(beam.PTransform):
    """(previous track_id, carried row) -> the previous snapshot's frames of those tracks."""

    def __init__(self, previous_run: str):
        super().__init__()
        self.previous_run = previous_run

    def expand(self, carried):
        frames = (
            carried.pipeline
            | "Previous frames" >> beam.io.ReadFromParquet(f"{self.previous_run}/frames/*.parquet")
            | "Frames by track" >> beam.WithKeys(lambda row: row["track_id"])
        )
        return (
            {"track": carried, "frames": frames}
            | "Join frames" >> beam.CoGroupByKey()
            | "Carried frames" >> beam.FlatMap(_carried_frames)
        )


def new_file_changes(entry: CatalogueEntry, run_id: str, reason: str) -> dict:
    """The change row of a file in a run that starts from no snapshot."""
    return {
        "path": entry.path,
        "track_id": entry.track_id,
        "change": "new",
        "reason": reason,
        "run_id": run_id,
    }
