"""Nightly runs: decide per file whether to classify it again or carry it over.

A file is classified again when it is new, failed last time, or its content
changed. Size and mtime equal to the previous snapshot's mean unchanged
without reading the file; when either differs the content's sha256 decides,
so a touched-but-identical file is carried over and a same-size rewrite is
not. Carried tracks keep their rows (and frames) from the previous snapshot.

A file at a path the previous snapshot did not have is matched against the
tracks that disappeared: same size and same sha256 means the file was renamed
or moved, so its row and frames are carried over under the new path (change
``moved``, with ``previous_path``) instead of being decoded again. Only new
files whose size equals a disappeared track's size are hashed for this.
A file whose content differs only by recogenre's own tag writes (``recogenre
tag --write``, see :mod:`recogenre.analysis.tag_ledger`) is carried over
too, with its new size, mtime and sha256.

A file that failed last time because of its content (analysis/error_carry.py says
which errors those are) and whose size and mtime are those of its error row is
not decoded again: the error row is carried over with its message and the run
that first gave it (change ``unchanged_error``). ``retry_errors`` (``run
--retry-errors``) tries every failed file again; ``retry_types`` those of some
error types (``too_long`` after ``--max-duration`` changed).

A folder that cannot be listed this time (no permission, an unmounted disk
below the root) is an ``unreadable`` error row of its own, and the tracks the
previous snapshot had under it are carried over as they were, change
``unverified``: not removed, not decoded, not checked.

Changed settings (weights, front end, trim) are handled by the launcher,
which then starts from no snapshot at all.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from recogenre.analysis.catalogue_files import CatalogueEntry, content_sha256, file_stats
from recogenre.analysis.error_carry import stays_an_error
from recogenre.analysis.file_tags import COLUMNS as TAG_COLUMNS
from recogenre.analysis.file_tags import read_tags
from recogenre.analysis.schemas import CHANGE_KINDS
from recogenre.analysis.tag_ledger import parse_line, reachable
from recogenre.transforms.audio_frames import to_datetime

CARRIED_TAG = "carried"
CARRIED_ERRORS_TAG = "carried_errors"  # error rows of unchanged files that failed before
CHANGES_TAG = "changes"
UNMATCHED_TAG = "unmatched"  # no previous track at this path: maybe moved here
GONE_TAG = "gone"  # a previous track whose path is no longer listed: maybe moved away
CANDIDATES_TAG = "candidates"  # ((size, sha256), (entry, kind)) of files that may have moved here


class Change(NamedTuple):
    path: str
    track_id: str | None
    change: str  # one of CHANGE_KINDS
    reason: str
    previous_path: str | None = None  # moved: where the file was


def _same_mtime(previous: dt.datetime | None, seconds: float | None) -> bool:
    if previous is None or seconds is None:
        return False
    return abs(previous.timestamp() - seconds) < 1e-5  # Parquet keeps microseconds


def _unchanged(entry: CatalogueEntry, previous_error: dict) -> bool:
    """The file has the size and mtime its previous error row recorded (null: not known)."""
    size = previous_error.get("size_bytes")
    same_size = size is not None and size == entry.size_bytes
    return same_size and _same_mtime(previous_error.get("mtime"), entry.mtime)


class _Planner(beam.DoFn):
    def __init__(self, run_id: str, progress=None):
        self.run_id, self.progress = run_id, progress
        self.counters = {k: Metrics.counter("recogenre", f"files_{k}") for k in CHANGE_KINDS}

    def finish_bundle(self):
        if self.progress is not None:  # the progress line's time left excludes carried tracks
            self.progress.flush()

    def _change(self, change: Change):
        self.counters[change.change].inc()
        return beam.pvalue.TaggedOutput(CHANGES_TAG, {**change._asdict(), "run_id": self.run_id})

    def _carry(self, entry: CatalogueEntry, previous: dict, change: Change, **updated):
        row = {
            "decode_warnings": None,  # a snapshot written before the column existed
            "embedding": None,  # idem (results version 1; the launcher makes such runs full)
            "confidence": None,
            "analysed_s": None,
            **dict.fromkeys(TAG_COLUMNS),  # a snapshot before the tag columns (results version 4)
            "rhythm": None,  # idem (results version 4; the launcher makes such runs full)
            **previous,
            **updated,
            "track_id": entry.track_id,
            "path": entry.path,
            "label": entry.label,
            "mtime": to_datetime(entry.mtime),
            "run_id": self.run_id,
        }
        if self.progress is not None:
            self.progress.add(carried=1)
        yield beam.pvalue.TaggedOutput(CARRIED_TAG, (previous["track_id"], row))
        yield self._change(change)

    def _carry_unverified(self, previous: dict, folder: str):
        """A previous track under a folder that cannot be listed now: kept as it was."""
        row = dict.fromkeys(("decode_warnings", "embedding", "confidence", "analysed_s", "rhythm"))
        row.update(previous)  # a snapshot written before those columns
        yield beam.pvalue.TaggedOutput(CARRIED_TAG, (previous["track_id"], {**row, "run_id": self.run_id}))
        reason = f"not verified: its folder {folder} cannot be listed"
        yield self._change(Change(previous["path"], previous["track_id"], "unverified", reason))

    def _first_seen(self, entry: CatalogueEntry, kind: str):
        """A file decoded because nothing in the previous snapshot matches it."""
        reason = "failed in the previous run" if kind == "retried" else "not in the previous snapshot"
        yield self._change(Change(entry.path, entry.track_id, kind, reason))
        yield entry


class PlanFile(_Planner):
    """(path, {entry, track, error, ledger}) -> entries to decode; carried rows on ``carried``;
    carried error rows on ``carried_errors``; one Change per path on ``changes``; files new
    at their path on ``unmatched`` and vanished tracks on ``gone`` (both for move
    detection). ``unlisted``: the folders that could not be listed, whose previous tracks
    are carried over unverified."""

    def __init__(self, run_id: str, progress=None, retry_errors: bool = False, retry_types=frozenset()):
        super().__init__(run_id, progress)
        self.retry_errors, self.retry_types = retry_errors, frozenset(retry_types)

    def _still_failing(self, entry: CatalogueEntry, previous: dict) -> bool:
        """The file failed because of its content and has not changed since."""
        if self.retry_errors or not stays_an_error(previous, self.retry_types):
            return False
        return _unchanged(entry, previous)

    def _carry_error(self, entry: CatalogueEntry, previous: dict):
        first = previous.get("first_run_id") or previous["run_id"]
        row = {**previous, "path": entry.path, "run_id": self.run_id, "first_run_id": first}
        if self.progress is not None:
            self.progress.add(carried=1)
        yield beam.pvalue.TaggedOutput(CARRIED_ERRORS_TAG, row)
        reason = f"failed in run {first} ({previous['error_type']}); same size and mtime since"
        yield self._change(Change(entry.path, entry.track_id, "unchanged_error", reason))

    def process(self, joined, unlisted=()):
        path, parts = joined
        entries, tracks, errors = list(parts["entry"]), list(parts["track"]), list(parts["error"])
        if not entries:
            if tracks:
                folder = next((f for f in unlisted if path.startswith(f.rstrip("/") + "/")), None)
                if folder is not None:
                    yield from self._carry_unverified(tracks[0], folder)
                else:
                    yield beam.pvalue.TaggedOutput(GONE_TAG, tracks[0])
            return
        entry: CatalogueEntry = file_stats(entries[0])
        kind = "retried" if errors else "new"
        if entry.problem:  # ruled out by the catalogue; decoding gives its error row
            yield self._change(Change(path, entry.track_id, "changed" if tracks else kind, entry.problem[1]))
            yield entry
            return
        if not tracks:
            if errors and self._still_failing(entry, errors[0]):
                yield from self._carry_error(entry, errors[0])
                return
            if errors and _unchanged(entry, errors[0]):  # tried again as it was: an error keeps its first run
                entry = entry._replace(failed_since=errors[0].get("first_run_id") or errors[0]["run_id"])
            yield beam.pvalue.TaggedOutput(UNMATCHED_TAG, (entry, kind))
            return
        previous = tracks[0]
        if previous["size_bytes"] == entry.size_bytes and _same_mtime(previous["mtime"], entry.mtime):
            yield from self._carry(
                entry, previous, Change(path, entry.track_id, "unchanged", "same size and mtime")
            )
            return
        try:
            fingerprint = content_sha256(path)
        except Exception:
            fingerprint = None  # unreadable now: decoding will report why
        if fingerprint is not None and fingerprint == previous["content_sha256"]:
            yield from self._carry(
                entry, previous, Change(path, entry.track_id, "unchanged", "same content, new mtime")
            )
            return
        tag_writes = reachable(parts.get("ledger", ()), previous["content_sha256"])
        if fingerprint is not None and fingerprint in tag_writes:
            yield from self._carry(
                entry,
                previous,
                Change(path, entry.track_id, "unchanged", "only its tags changed, written by recogenre tag"),
                size_bytes=entry.size_bytes,
                content_sha256=fingerprint,
                **read_tags(path).columns(),  # the genre recogenre tag wrote is now the file's
            )
            return
        yield self._change(Change(path, entry.track_id, "changed", "content changed"))
        yield entry


class HashCandidates(_Planner):
    """(entry, kind) new at its path -> ((size, sha256), (entry, kind)) when its size is
    that of a vanished track; otherwise decoded as new. Hashing only those keeps a
    night with many new files (and no renames) from reading them twice."""

    def process(self, unmatched, gone_sizes: dict):
        entry, kind = unmatched
        if entry.size_bytes is not None and entry.size_bytes in gone_sizes:
            try:
                key = (entry.size_bytes, content_sha256(entry.path))
                yield beam.pvalue.TaggedOutput(CANDIDATES_TAG, (key, (entry, kind)))
                return
            except Exception:
                pass  # decoding will report why it cannot be read
        yield from self._first_seen(entry, kind)


class PairMoves(_Planner):
    """((size, sha256), {new, gone}) -> moved files carried over; the rest new or removed.

    Identical copies are paired in path order, so every runner pairs them alike.
    """

    def process(self, joined):
        _, parts = joined
        arrivals = sorted(parts["new"], key=lambda pair: pair[0].path)
        departed = sorted(parts["gone"], key=lambda row: row["path"])
        for (entry, _), previous in zip(arrivals, departed):
            reason = f"same size and content as {previous['path']}"
            yield from self._carry(
                entry, previous, Change(entry.path, entry.track_id, "moved", reason, previous["path"])
            )
        for entry, kind in arrivals[len(departed) :]:
            yield from self._first_seen(entry, kind)
        for previous in departed[len(arrivals) :]:
            yield self._change(
                Change(previous["path"], previous["track_id"], "removed", "file no longer in the catalogue")
            )


def _move_key(row: dict):
    return (row["size_bytes"], row["content_sha256"]), row


class PlanChanges(beam.PTransform):
    """Entries + the previous snapshot (+ the tag-write ledger) -> {decode, carried,
    carried_errors, changes}."""

    def __init__(
        self,
        previous_run: str,
        run_id: str,
        tag_ledger: str | None = None,
        progress=None,
        retry_errors: bool = False,
        retry_types: frozenset[str] = frozenset(),
    ):
        super().__init__()
        self.previous_run, self.run_id, self.tag_ledger = previous_run, run_id, tag_ledger
        self.progress, self.retry_errors, self.retry_types = progress, retry_errors, retry_types

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
        joined = {
            "entry": entries | "Entries by path" >> beam.WithKeys(lambda e: e.path),
            "track": tracks,
            "error": errors,
        }
        if has_ledger(self.tag_ledger):  # only then: a library never tagged keeps the graph it had
            joined["ledger"] = p | "Tag writes" >> ReadTagLedger(self.tag_ledger)
        unlisted = (
            entries
            | "Unlisted folders" >> beam.Filter(lambda e: e.folder)
            | "Their paths" >> beam.Map(lambda e: e.path)
        )
        planned = (
            joined
            | "Join with previous" >> beam.CoGroupByKey()
            | "Plan each file"
            >> beam.ParDo(
                PlanFile(self.run_id, self.progress, self.retry_errors, self.retry_types),
                unlisted=beam.pvalue.AsList(unlisted),
            ).with_outputs(
                CARRIED_TAG, CARRIED_ERRORS_TAG, CHANGES_TAG, UNMATCHED_TAG, GONE_TAG, main="decode"
            )
        )
        gone_sizes = (
            planned.gone
            | "Vanished sizes" >> beam.Map(lambda row: row["size_bytes"])
            | "Distinct sizes" >> beam.Distinct()
            | "As dict keys" >> beam.Map(lambda size: (size, True))
        )
        hashed = planned.unmatched | "Hash new files of a vanished size" >> beam.ParDo(
            HashCandidates(self.run_id, self.progress), gone_sizes=beam.pvalue.AsDict(gone_sizes)
        ).with_outputs(CARRIED_TAG, CHANGES_TAG, CANDIDATES_TAG, main="decode")
        paired = (
            {
                "new": hashed.candidates,
                "gone": planned.gone | "Vanished by content" >> beam.Map(_move_key),
            }
            | "Join by content" >> beam.CoGroupByKey()
            | "Pair moves"
            >> beam.ParDo(PairMoves(self.run_id, self.progress)).with_outputs(
                CARRIED_TAG, CHANGES_TAG, main="decode"
            )
        )
        return {
            "decode": (planned.decode, hashed.decode, paired.decode) | "To decode" >> beam.Flatten(),
            "carried": (planned.carried, paired.carried) | "All carried" >> beam.Flatten(),
            "carried_errors": planned.carried_errors,
            "changes": (planned.changes, hashed.changes, paired.changes) | "All changes" >> beam.Flatten(),
        }


def has_ledger(path: str | None) -> bool:
    from apache_beam.io.filesystems import FileSystems

    return bool(path) and FileSystems.exists(path)


class ReadTagLedger(beam.PTransform):
    """The entries of ``OUT/tag-writes.jsonl`` (any Beam filesystem), keyed by path."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def expand(self, pbegin):
        return (
            pbegin
            | "Read ledger" >> beam.io.ReadFromText(self.path)
            | "Parse entries" >> beam.FlatMap(parse_line)
            | "Entries by path" >> beam.WithKeys(lambda e: e["path"])
        )


def _carried_frames(joined):
    _, parts = joined
    carried = list(parts["track"])
    if not carried:
        return
    new_id = carried[0]["track_id"]
    for frame in parts["frames"]:
        yield {"embedding": None, **frame, "track_id": new_id}  # no embedding before results version 2


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
        "previous_path": None,
    }
