"""``recogenre tag``: the published genres written back into the files' own tags.

Library managers read genres from the files, not from Parquet. This command
takes each track's top genre from ``OUT/latest`` and writes it into the
file's genre field (:mod:`recogenre.apps.tag_formats`), so beets, Picard,
Plex or a car stereo see it. ``--per album`` writes the album's genre (the run's
``albums`` table) to each of its tracks instead, so an album reads as one genre;
``--top-k K`` writes up to K genres, best first, as the format's multiple values.

It is a dry run unless ``--write`` is given: users see every change before a
byte of their library moves. Existing genres are kept unless ``--overwrite``.
With ``--source user`` the genre written is the user's own (``user_genre``, from
``recogenre run --head``), as the head names it, instead of GTZAN's; the same rules apply,
and ``--min-confidence`` then reads ``user_confidence``.
Only genres the run is sure of are written: silent tracks, ``unknown``,
files that failed, and (with ``--min-confidence``) uncertain tracks are left
alone, and so is a file whose content changed since the run (its genre may
no longer be its own; the next run classifies it again).

Each write goes through :class:`recogenre.apps.file_rewrite.StagedRewrite`
(copy, edit, check, rename) and is proven to leave the audio packets
byte-identical before the copy replaces the original. Each is recorded in
the ledger (:mod:`recogenre.analysis.tag_ledger`) so that the next nightly
run does not decode the file again. ``--write`` holds the output folder's run
lock: a run and a tag write never interleave.

Over 400 lines as one job: deciding, per file, whether its genre may be written and
writing it safely; the decision and the write share the run's rows and the file's state
and are read together.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as data_field
from pathlib import Path

from recogenre.analysis import tag_ledger
from recogenre.analysis.aggregate import UNKNOWN
from recogenre.analysis.genres import GENRES
from recogenre.analysis.logs import error_text
from recogenre.analysis.outcomes import EXIT_FAILED, CommandError, RunRefused, UsageError
from recogenre.analysis.paths import NotAFile, check_regular, is_remote, to_os_path
from recogenre.analysis.wording import count
from recogenre.apps import tag_formats
from recogenre.apps.tag_formats import TAG_VALUES, Field, Unsupported

NONE = "(none)"
GTZAN, USER = "gtzan", "user"  # --source: GTZAN's top_genre, or run --head's user_genre
SOURCES = (GTZAN, USER)
# --source: the tracks columns holding the genre and its confidence
SOURCE_COLUMNS = {GTZAN: ("top_genre", "confidence"), USER: ("user_genre", "user_confidence")}
UNREADABLE = "skipped (unreadable: its permissions do not let this user read it)"


PER_CHOICES = ("track", "album")
# With --top-k: a genre the model gives a tenth of the vector (one of ten genres' even share) or more.
DEFAULT_MIN_SHARE = 0.1


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 to 1, not {text}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("output", metavar="OUT", help="output folder of `recogenre run` (reads OUT/latest)")
    p.add_argument(
        "--write", action="store_true", help="write the tags (default: a dry run that only prints them)"
    )
    p.add_argument(
        "--min-confidence",
        type=_fraction,
        default=None,
        metavar="C",
        help="only tracks whose confidence (the tracks table's column) is at least C; with --per album, "
        "only albums whose confidence (the albums table's) is",
    )
    existing = p.add_mutually_exclusive_group()
    existing.add_argument(
        "--only-empty",
        dest="overwrite",
        action="store_false",
        help="only files with no value in the field (the default)",
    )
    existing.add_argument(
        "--overwrite", dest="overwrite", action="store_true", help="replace a genre already in the file"
    )
    p.set_defaults(overwrite=False)  # the group's first action (store_false) would make it True
    p.add_argument(
        "--field",
        default=tag_formats.STANDARD,
        metavar="NAME",
        help="'genre' (ID3 TCON, Vorbis GENRE, MP4 ©gen) or a custom field, e.g. TXXX:recogenre_genre "
        "(ID3 TXXX:NAME, Vorbis NAME, MP4 ----:com.apple.iTunes:NAME)",
    )
    p.add_argument(
        "--export",
        metavar="CSV",
        help="also write path,genre,confidence of every track with a genre to CSV "
        "(a new file outside the catalogue and OUT; also in a dry run)",
    )
    p.add_argument("--force", action="store_true", help="let --export replace an existing file")
    p.add_argument(
        "--per",
        choices=PER_CHOICES,
        default="track",
        help="whose genre each file gets: its own (track, the default) or its album's, from the run's "
        "albums table, so every track of an album gets the same genre",
    )
    p.add_argument(
        "--top-k",
        type=_positive,
        default=1,
        metavar="K",
        help="write up to K genres, best first, as the format's multiple values (default 1: the top genre)",
    )
    p.add_argument(
        "--min-share",
        type=_fraction,
        default=DEFAULT_MIN_SHARE,
        metavar="S",
        help=f"with --top-k: only genres whose share of the genre vector is at least S "
        f"(default {DEFAULT_MIN_SHARE:g}; the top genre is always written)",
    )
    p.add_argument(
        "--source",
        choices=SOURCES,
        default=GTZAN,
        help="which genre to write: gtzan (top_genre, the default) or user (user_genre, your own "
        "genres from `recogenre run --head`; --min-confidence then reads user_confidence)",
    )


@dataclass
class Decision:
    path: str
    action: str  # write, kept, already, skip, fail (written once done)
    text: str  # what the line says after "path: "
    value: str | None = None  # the values as shown and recorded in the ledger, "; "-separated
    fmt: str | None = None
    snapshot_sha256: str | None = None
    keys: tuple[str, ...] = ()  # the fields written, as printed (an MP3's may be its APEv2 Genre)
    values: tuple[str, ...] = ()  # the genres written, best first (several with --top-k)


class TagError(UsageError):
    """A tag command that cannot start (bad field, no run, unusable ledger or export target):
    one line for the user, exit status 2; nothing was read or written."""


class TagStopped(CommandError):
    """Ctrl-C or SIGTERM: every file is as it was or completely written; exit status 128 + signal."""


@dataclass
class TagResult:
    """What a tag command did (or, in a dry run, would do), file by file and counted."""

    write: bool  # False: a dry run, nothing written
    ledger: str  # the tag ledger's path
    export: str | None = None  # the --export CSV's path
    outcomes: list[Decision] = data_field(default_factory=list)  # one per file, by path
    # by action: written (or write in a dry run), kept, already, skip, fail
    counts: dict[str, int] = data_field(default_factory=dict)
    skipped: dict[str, int] = data_field(default_factory=dict)  # skips by their short reason
    exported: int = 0  # tracks in the export CSV
    export_error: str | None = None  # the line saying why the CSV could not be written

    def add(self, d: Decision) -> None:
        self.outcomes.append(d)
        self.counts[d.action] = self.counts.get(d.action, 0) + 1
        if d.action == "skip":
            kind = _skip_kind(d.text)
            self.skipped[kind] = self.skipped.get(kind, 0) + 1

    def export_failed(self, line: str) -> None:
        self.export_error = line
        self.counts["fail"] = self.counts.get("fail", 0) + 1

    @property
    def failed(self) -> int:
        """Files not written because of an error, plus one for an export that failed."""
        return self.counts.get("fail", 0)

    @property
    def fields_written(self) -> list[str]:
        """The fields written, as named in the files (an MP3's may be its APEv2 Genre)."""
        return sorted({k for d in self.outcomes if d.action == "written" for k in d.keys})

    def closing_lines(self) -> list[str]:
        """The summary, then where the fields and the export went."""
        lines = [_summary(self.counts, self.skipped, self.write)]
        if self.write and self.counts.get("written"):
            lines.append(f"fields written: {', '.join(self.fields_written)}; ledger: {self.ledger}")
        if self.export:
            lines.append(f"exported {count(self.exported, 'track')} to {self.export}")
        return lines


def _read_table(run_path: str, name: str):
    """A table with the columns its files have (``confidence`` only where the run wrote it)."""
    import pyarrow.dataset as ds

    folder = f"{run_path}/{name}"
    if not os.path.isdir(folder):
        return None
    return ds.dataset(folder, format="parquet").to_table().to_pandas()


def _wanted_genre(
    row,
    min_confidence: float | None,
    top_k: int = 1,
    min_share: float = DEFAULT_MIN_SHARE,
    source: str = GTZAN,
) -> tuple[list[str] | None, str]:
    """(the values to write, best first, "") or (None, why not). ``row``: a track's or an album's.

    The first value is the row's ``top_genre`` (``user_genre`` with ``--source user``); with
    ``top_k`` above 1 the next best GTZAN genres follow while their share of the vector is at
    least ``min_share`` (``--source user`` writes its one genre: the launcher refuses --top-k).
    """
    genre_column, confidence_column = SOURCE_COLUMNS[source]
    genre = row[genre_column]
    if genre is None or (isinstance(genre, float) and math.isnan(genre)):
        return None, "silent: no genre"
    if source == USER:
        if genre == UNKNOWN:
            return None, f"no genre ({genre})"
    elif genre not in GENRES:
        return None, f"no genre ({genre})"
    if min_confidence is not None:
        confidence = _number(row[confidence_column])
        if confidence is None:
            return None, "no confidence, below --min-confidence"
        if confidence < min_confidence:
            return None, f"confidence {confidence:.3f} below --min-confidence {min_confidence:g}"
    if source == USER:
        return [str(genre)], ""
    ranked = sorted(GENRES, key=lambda g: -(_number(row.get(g)) or 0.0))
    more = [g for g in ranked if g != genre and (_number(row.get(g)) or 0.0) >= min_share]
    return [TAG_VALUES[g] for g in [genre, *more][:top_k]], ""


def _number(value) -> float | None:
    """A float from a table cell; None for null and NaN."""
    if value is None or value != value:
        return None
    return float(value)


def _same_mtime(previous, seconds: float) -> bool:
    return previous is not None and abs(previous.timestamp() - seconds) < 1e-5


class Tagger:
    def __init__(self, args: argparse.Namespace, run_path: str, field: Field, ledger: list[dict]):
        self.args, self.run_id, self.field = args, Path(run_path).name, field
        self.ledger: dict[str, list[dict]] = {}
        for e in ledger:
            self.ledger.setdefault(e["path"], []).append(e)

    def reach(self, path: str, snapshot_sha256: str | None) -> set[str]:
        return tag_ledger.reachable(self.ledger.get(path, ()), snapshot_sha256)

    def decide(self, row, values: list[str]) -> Decision:
        path = row["path"]
        if is_remote(path):
            return Decision(path, "skip", "skipped (not a local file)")
        try:
            fmt = tag_formats.tag_format(path)
        except Unsupported as e:
            return Decision(path, "skip", f"skipped ({e})")
        os_path = to_os_path(path)
        try:
            st = check_regular(os_path)  # a FIFO put in its place would block every read below
        except FileNotFoundError:
            return Decision(path, "skip", "skipped (missing: no such file)")
        except NotAFile as e:
            return Decision(path, "skip", f"skipped ({e})")
        except PermissionError:  # a folder on the way that this user may not enter
            return Decision(path, "skip", UNREADABLE)
        except OSError as e:
            return Decision(path, "fail", f"cannot read it: {e.strerror or e}")
        if not os.access(os_path, os.R_OK):
            return Decision(path, "skip", UNREADABLE)
        if st.st_nlink > 1:
            return Decision(
                path, "skip", f"skipped (it has {st.st_nlink} hard links, which a rewrite would split)"
            )
        if not st.st_mode & 0o222 or not os.access(os_path, os.W_OK):
            return Decision(path, "skip", "skipped (read-only: its permissions say it is not to be changed)")
        sha = row["content_sha256"]
        if not (st.st_size == row["size_bytes"] and _same_mtime(row["mtime"], st.st_mtime)):
            from recogenre.analysis.weights import sha256_of

            try:
                current = sha256_of(os_path)
            except OSError as e:
                return Decision(path, "fail", f"cannot read it: {e.strerror or e}")
            if current not in self.reach(path, sha):
                return Decision(
                    path,
                    "skip",
                    f"skipped (changed since run {self.run_id}; the next run classifies it again)",
                )
        try:
            tags = tag_formats.open_tags(os_path, fmt)
            found = tags.found(self.field)
        except Unsupported as e:
            return Decision(path, "skip", f"skipped ({e})")
        except Exception as e:  # mutagen's errors for a damaged tag block
            return Decision(path, "fail", f"cannot read its tags: {error_text(e)}")
        existing = [v for there in found.values() for v in there]
        old, value = _shown(found), "; ".join(values)
        stored = [v for there in tags.stored(self.field, values).values() for v in there]
        if existing and [v.casefold() for v in existing] == [v.casefold() for v in stored]:
            return Decision(path, "already", f"{old} (already)")
        if existing and not self.args.overwrite:
            return Decision(path, "kept", f"{old} (kept; --overwrite replaces it with {value})")
        return Decision(path, "write", f"{old} -> {value}", value, fmt, sha, values=tuple(values))

    def write(self, d: Decision, ledger_file: str) -> Decision:
        """Writes one file (see :mod:`recogenre.apps.file_rewrite`); the file is untouched on failure."""
        from recogenre.analysis.weights import sha256_of
        from recogenre.apps.file_rewrite import RewriteRefused, StagedRewrite, audio_digest

        try:
            with StagedRewrite(to_os_path(d.path)) as staged:
                before = sha256_of(staged.tmp)
                if before not in self.reach(d.path, d.snapshot_sha256):
                    return Decision(d.path, "skip", f"skipped (changed since run {self.run_id})")
                audio = audio_digest(staged.tmp)
                tags = tag_formats.open_tags(staged.tmp, d.fmt)
                keys = tags.set(self.field, list(d.values))
                expected = {k: v for k, v in tags.stored(self.field, list(d.values)).items() if k in keys}
                tags.save()
                if tag_formats.open_tags(staged.tmp, d.fmt).found(self.field) != expected:
                    raise RewriteRefused("the tag did not read back as written")
                if audio_digest(staged.tmp) != audio:
                    raise RewriteRefused("the tag library changed the audio packets")
                st = staged.seal()
                entry = {
                    "path": d.path,
                    "before_sha256": before,
                    "after_sha256": sha256_of(staged.tmp),
                    "after_size": st.st_size,
                    "after_mtime": st.st_mtime,
                    "field": ", ".join(keys),
                    "value": d.value,
                    "snapshot_run": self.run_id,
                    "written_at": dt.datetime.now(dt.UTC).isoformat(),
                }
                tag_ledger.append(ledger_file, entry)  # before the rename: see tag_ledger
                staged.commit()
        except Exception as e:  # RewriteRefused, OSError (a full disk), mutagen's errors
            why = e.strerror if isinstance(e, OSError) and e.strerror else error_text(e)
            return Decision(d.path, "fail", f"not written, the file is as it was: {why}")
        self.ledger.setdefault(d.path, []).append(entry)
        return Decision(d.path, "written", d.text, d.value, d.fmt, keys=tuple(keys), values=d.values)


def _shown(found: dict[str, list[str]]) -> str:
    """The values already there; where they are when one is in an MP3's APEv2 tag."""
    if not found:
        return NONE
    if tag_formats.APE_GENRE not in found:
        return "; ".join(v for values in found.values() for v in values)
    return ", ".join(f"{'; '.join(values)} in {key}" for key, values in found.items())


def _summary(counts: dict[str, int], skipped: dict[str, int], write: bool) -> str:
    parts = [
        f"{counts.get('written' if write else 'write', 0)} {'written' if write else 'to write'}",
        f"{counts.get('kept', 0)} kept (a genre already there)",
        f"{counts.get('already', 0)} already set",
    ]
    reasons = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
    parts.append(f"{counts.get('skip', 0)} skipped" + (f" ({reasons})" if reasons else ""))
    parts.append(f"{counts.get('fail', 0)} failed")
    head = "tag" if write else "dry run"
    tail = "" if write else "; nothing written (--write writes)"
    return f"{head}: " + ", ".join(parts) + tail


def _skip_kind(text: str) -> str:
    """The short reason a summary counts a skip under."""
    inner = text.removeprefix("skipped (").removeprefix("skipped").strip(" ()")
    for key, kind in (
        ("unsupported format", "unsupported format"),
        ("silent", "silent"),
        ("no genre", "no genre"),
        ("below --min-confidence", "below --min-confidence"),
        ("changed since", "changed since the run"),
        ("missing", "missing"),
        ("no result", "failed in the run"),
        ("hard links", "hard links"),
        ("read-only", "read-only"),
        ("not a local file", "not local"),
    ):
        if key in inner:
            return kind
    return inner.split(":")[0].split("(")[0].strip()


def tag(args: argparse.Namespace, on_file: Callable[[Decision], None] | None = None) -> TagResult:
    """Tags (or, without ``args.write``, reviews) every track of ``OUT/latest``; the outcome as data.

    ``on_file`` sees each file's :class:`Decision` as soon as it is final, so that a long
    write shows its progress (the command prints it). Raises :class:`TagError` (a
    :class:`UsageError`) when nothing could start, :class:`RunRefused` (exit status 1, its
    holder named) when another run or tag write holds the output folder, and
    :class:`TagStopped` on Ctrl-C or SIGTERM (every file is as it was or completely written).
    """
    from recogenre.pipeline import layout

    try:
        field = tag_formats.field_name(args.field)
    except ValueError as e:
        raise TagError(f"tag: {e}") from None
    run_path = layout.latest_run(args.output)
    if run_path is None or is_remote(args.output):
        raise TagError(f"tag: no published run in {args.output} (a local output folder of `recogenre run`)")
    tracks, errors = _read_table(run_path, "tracks"), _read_table(run_path, "errors")
    if tracks is None:
        raise TagError(f"tag: {run_path} has no tracks table")
    source = getattr(args, "source", GTZAN)
    if source == USER and not _has_user_genres(tracks):
        raise TagError(
            f"tag: --source user needs user genres, which run {Path(run_path).name} does not have "
            "(`recogenre run --head HEAD` adds them)"
        )
    if source == USER and (args.per == "album" or args.top_k > 1):
        # the albums table and the genre shares are GTZAN's; a head answers one genre per track
        raise TagError("tag: --source user writes each track's own user genre: --per album and --top-k "
                       "apply to --source gtzan")
    if args.min_confidence is not None and "confidence" not in tracks.columns:
        raise TagError(
            f"tag: --min-confidence needs a confidence column, which run {Path(run_path).name} "
            "does not have (written by an older recogenre; `recogenre run --full` adds it)"
        )
    refused = _field_refused(field, tracks["path"])
    if refused:
        raise TagError(f"tag: --field {args.field!r}: {refused}")
    unusable = tag_ledger.ledger_problem(tag_ledger.ledger_path(args.output))
    if unusable:
        raise TagError(f"tag: {unusable}; move it away and run tag again")
    if args.export:
        from recogenre.apps.export import ExportRefused, check_target, protected_places

        manifest = layout.read_manifest(run_path) or {}
        catalogue = manifest.get("catalogue_path") or manifest.get("catalogue")
        try:
            check_target(args.export, *protected_places(args.output, tracks["path"], catalogue), args.force)
        except ExportRefused as e:
            raise TagError(f"tag: {e}") from None
    lock = None
    if args.write:
        from recogenre.pipeline.lock import RunLock, acquire_or_reason

        lock = RunLock(args.output)
        refused = acquire_or_reason(lock)
        if refused:
            raise RunRefused(f"tag: {refused}", exit_status=EXIT_FAILED)  # names the holder
    previous_handler = signal.signal(signal.SIGTERM, _stop)
    try:
        return _tag(args, run_path, tracks, errors, field, on_file or (lambda d: None))
    except (KeyboardInterrupt, Stopped) as e:  # the file being written is left as it was
        raise TagStopped(
            "tag: stopped; every file is either as it was or completely written (and in the ledger)",
            exit_status=128 + (signal.SIGTERM if isinstance(e, Stopped) else signal.SIGINT),
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        if lock:
            lock.release()


def _has_user_genres(tracks) -> bool:
    return "user_genre" in tracks.columns and bool(tracks["user_genre"].notna().any())


def _field_refused(field: Field, paths) -> str | None:
    """Why the field cannot be written in some of the snapshot's files, or None.

    Checked from the names alone, before any file is read: a field written in some
    formats and refused in others would leave the library half in one field.
    """
    refused: dict[str, int] = {}
    for path in paths:
        try:
            fmt = tag_formats.tag_format(path)
        except Unsupported:
            continue  # skipped with its reason, as always
        try:
            tag_formats.field_key(fmt, field)
        except Unsupported as e:
            refused[str(e)] = refused.get(str(e), 0) + 1
    if not refused:
        return None
    why, count = next(iter(refused.items()))
    return (
        f"{why}, and the snapshot has {count} such file{'s' if count != 1 else ''}; "
        "nothing was read or written (use another name, e.g. TXXX:recogenre_genre)"
    )


class Stopped(BaseException):
    """SIGTERM: unwinds like Ctrl-C, so the copy being edited is removed."""


def _stop(signum, frame) -> None:
    raise Stopped()


def _album_of_each_track(run_path: str, tracks) -> dict[str, dict]:
    """{track path: its album's row}, from the run's ``albums`` table.

    A run written before that table existed gets the same rows computed here from its
    tracks (``analysis/albums.py``), labelled with the run's own --min-confidence.
    """
    from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE
    from recogenre.analysis.albums import album_key, album_rows
    from recogenre.pipeline import layout

    table = _read_table(run_path, "albums")
    track_rows = tracks.to_dict("records")
    if table is None:
        options = (layout.read_manifest(run_path) or {}).get("options", {})
        threshold = options.get("min_confidence")
        rows = album_rows(
            track_rows, Path(run_path).name, DEFAULT_MIN_CONFIDENCE if threshold is None else threshold
        )
    else:
        rows = table.to_dict("records")
    by_id = {r["album_id"]: r for r in rows}
    return {r["path"]: by_id[album_key(r).album_id] for r in track_rows if album_key(r).album_id in by_id}


def _tag(args, run_path: str, tracks, errors, field: Field, on_file: Callable[[Decision], None]) -> TagResult:
    ledger_file = tag_ledger.ledger_path(args.output)
    ledger = tag_ledger.read_ledger(ledger_file)
    relevant = tag_ledger.still_relevant(ledger, dict(zip(tracks["path"], tracks["content_sha256"])))
    if args.write and len(relevant) != len(ledger):
        tag_ledger.rewrite(ledger_file, relevant)
    tagger = Tagger(args, run_path, field, relevant)
    per_album = args.per == "album"
    albums = _album_of_each_track(run_path, tracks) if per_album else {}
    source = getattr(args, "source", GTZAN)
    confidence_column = SOURCE_COLUMNS[source][1]
    result = TagResult(write=bool(args.write), ledger=ledger_file, export=args.export)
    exported: list[tuple[str, str, float | None]] = []
    lines: list[Decision] = []
    for row in tracks.sort_values("path").to_dict("records"):
        owner = albums.get(row["path"]) if per_album else row  # whose genre the file gets
        if owner is None:
            lines.append(Decision(row["path"], "skip", "skipped (no genre: its album is not in the run)"))
            continue
        values, why = _wanted_genre(owner, args.min_confidence, args.top_k, args.min_share, source)
        if values is None:
            lines.append(Decision(row["path"], "skip", f"skipped ({'album: ' if per_album else ''}{why})"))
        else:
            exported.append((row["path"], "; ".join(values), _number(owner.get(confidence_column))))
            lines.append(tagger.decide(row, values))
    if errors is not None:
        for row in errors.sort_values("path").to_dict("records"):
            lines.append(
                Decision(row["path"], "skip", f"skipped (no result: {row['error_type']} in the run)")
            )
    for d in sorted(lines, key=lambda d: d.path):
        if d.action == "write" and args.write:
            d = tagger.write(d, ledger_file)
        result.add(d)
        on_file(d)
    if args.export:
        from recogenre.apps.export import ExportRefused, write_csv

        try:
            write_csv(args.export, exported, args.force)
        except ExportRefused as e:
            result.export_failed(f"tag: {e}")
        except OSError as e:
            result.export_failed(f"tag: cannot write {args.export}: {e.strerror or e}")
    result.exported = len(exported)
    return result
