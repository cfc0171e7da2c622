"""``recogenre report``: one self-contained HTML page from a run's Parquet.

The page must work for a library of 10,000 tracks: one searchable, sortable
table, the distribution chart, and a track's genre bars and timeline drawn
in the browser when the track is opened (see :mod:`recogenre.apps.report_data` for
the compact payload and :mod:`recogenre.apps.report_page` for the page). It embeds
everything, so it can be mailed, archived, or opened from any folder
without a web server or network access.

Reports are written to ``OUT/reports/<run-id>/``, beside the runs rather
than inside one: ``recogenre run --keep N`` deletes old run folders, and a
report someone has open or bookmarked must not vanish with them.

Only the run's own tables are read -- nothing is re-classified -- so a
report of last night's run costs seconds, not another pass over the audio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import re
from pathlib import Path
from typing import Any

from recogenre.analysis.albums import album_key
from recogenre.analysis.genres import GENRES
from recogenre.analysis.logs import say
from recogenre.analysis.paths import is_remote
from recogenre.analysis.wording import count, size
from recogenre.apps import charts, report_data, report_page
from recogenre.apps.run_lookup import run_to_read
from recogenre.pipeline import layout

REPORTS_DIR = "reports"
PAGE_NAME = "report.html"
MAX_ERROR_ROWS = 1000  # the rest are in the run's errors table; a page is not the place for 50,000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("output", metavar="OUT", help="output folder of `recogenre run` (reads OUT/latest)")
    p.add_argument("--run", metavar="RUN_ID", help="report OUT/runs/RUN_ID instead of OUT/latest")
    p.add_argument(
        "--html",
        metavar="PATH",
        help=f"where to write the page (default: OUT/{REPORTS_DIR}/RUN_ID/{PAGE_NAME})",
    )
    p.add_argument(
        "--charts",
        metavar="DIR",
        help=f"folder for the PNG files (default: OUT/{REPORTS_DIR}/RUN_ID/)",
    )
    p.add_argument(
        "--max-track-charts",
        type=int,
        default=0,
        metavar="N",
        help="also write PNG genre and timeline charts for the first N tracks into DIR/tracks/ "
        "(default 0; the page draws every track's charts itself)",
    )




def report_dir(out: str, run_id: str) -> str:
    """``OUT/reports/<run-id>``: outside ``OUT/runs``, so pruning old runs keeps their reports."""
    return os.path.join(out, REPORTS_DIR, run_id)


def build_report(run_path: str, chart_dir: str, html_path: str, max_track_charts: int = 0) -> dict[str, Any]:
    """Writes the page and the distribution PNG; returns what was written, for the caller to print."""
    from recogenre.pipeline.layout import read_tables

    tables = read_tables(run_path)
    tracks = tables["tracks"].sort_values("path", kind="stable").reset_index(drop=True)
    frames, errors = tables["frames"], tables["errors"]
    manifest = layout.read_manifest(run_path) or {}
    run_id = manifest.get("run_id") or Path(run_path).name
    start = report_data.start_folder(manifest, run_path)
    paths = [report_data.absolute(str(p), start) for p in tracks["path"]]
    catalogue = manifest.get("catalogue")
    root = report_data.catalogue_root(report_data.absolute(catalogue, start) if catalogue else None, paths)
    names = report_data.display_names(paths, root)

    chart_root = Path(chart_dir)
    chart_root.mkdir(parents=True, exist_ok=True)
    silent = int(tracks["top_genre"].isna().sum())
    counts = tracks["top_genre"].dropna().value_counts().to_dict()
    charts.genre_distribution(
        counts, silent, f"Top genre of {len(tracks)} tracks (run {run_id})", chart_root / "distribution.png"
    )
    written = 1 + _track_pngs(tracks, frames, names, chart_root, max_track_charts)

    data = report_data.payload(tracks, frames, names, root)
    data["min_confidence"] = manifest.get("options", {}).get("min_confidence")  # runs before it: None
    data["albums"] = report_data.album_payload(_albums(tables, run_id, data["min_confidence"]), root, start)
    position = {album_id: i for i, album_id in enumerate(data["albums"]["id"])}
    data["tracks"]["album"] = [position.get(album_key(r).album_id, -1) for r in tracks.to_dict("records")]
    target = Path(html_path)
    facts = header_facts(manifest, run_path, tracks, errors, data, root, target.parent)
    page = report_page.render(
        f"recogenre report: run {run_id}",
        facts,
        report_page.distribution_svg(counts, silent),
        data,
        errors_html(errors),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return {
        "run_id": run_id,
        "tracks": len(tracks),
        "charts": written,
        "chart_dir": str(chart_root),
        "html": str(target),
        "bytes": target.stat().st_size,
    }


def _albums(tables: dict[str, Any], run_id: str, min_confidence: float | None):
    """The run's albums table; for a run written before it existed, the same rows from its tracks."""
    import pandas as pd

    from recogenre.analysis.aggregate import DEFAULT_MIN_CONFIDENCE
    from recogenre.analysis.albums import album_rows
    from recogenre.analysis.schemas import ALBUMS

    albums, tracks = tables["albums"], tables["tracks"]
    if len(albums) or not len(tracks):
        return albums
    threshold = DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence
    rows = album_rows(tracks.to_dict("records"), run_id, threshold)
    return pd.DataFrame(rows, columns=ALBUMS.names)


def _track_pngs(tracks, frames, names: list[str], chart_root: Path, limit: int) -> int:
    """The optional PNG charts of the first ``limit`` tracks (for slides); the page does not use them."""
    folder = chart_root / "tracks"
    if folder.is_dir():
        for old in folder.glob("*.png"):  # charts of an earlier report of this run
            if old.name.endswith(("-genres.png", "-timeline.png")):
                old.unlink()
    if limit <= 0 or not len(tracks):
        return 0
    written = 0
    head = tracks.head(limit)
    own_frames = frames[frames["track_id"].isin(set(head["track_id"]))]
    by_track = {k: g.sort_values("frame_index") for k, g in own_frames.groupby("track_id", sort=False)}
    for name, row in zip(names, head.to_dict("records")):
        is_silent = report_data._missing(row["top_genre"])
        percent = None if is_silent else {g: float(row[g]) * 100 for g in GENRES}
        title = name if is_silent else f"{name}: {row['top_genre']} ({row['top_score'] * 100:.1f}%)"
        if not is_silent and row["top_genre"] not in GENRES:  # unknown: below --min-confidence
            best = max(GENRES, key=lambda g: row[g])
            title = f"{name}: {row['top_genre']} (best guess {best}, {row['top_score'] * 100:.1f}%)"
        base = folder / chart_stem(name, str(row["track_id"]))
        charts.genre_bars(percent, title, f"{base}-genres.png")
        written += 1
        own = by_track.get(row["track_id"])
        if own is not None and len(own):
            charts.genre_timeline(
                own["start_s"].to_numpy(),
                own["end_s"].to_numpy(),
                own[list(GENRES)].to_numpy(dtype=float, na_value=float("nan")),
                f"{name}: genre share per frame",
                f"{base}-timeline.png",
            )
            written += 1
    return written


def chart_stem(name: str, track_id: str) -> str:
    """A file name a person recognises (the track's name) that is still unique (its id)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name)).strip("._")[:60]
    return f"{readable}-{track_id}" if readable else track_id


def human_time(iso: Any) -> str:
    """``2026-11-26T02:31:07.5+00:00`` -> ``Thu 26 Nov 2026, 02:31:07 UTC``."""
    try:
        when = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso) if iso else "?"
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return when.strftime("%a %d %b %Y, %H:%M:%S") + (" UTC" if when.tzinfo is not None else "")


def _duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return ""
    if s < 60:
        return f"{s:.1f} s"
    minutes, s = divmod(round(s), 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min {s} s"


def header_facts(
    manifest: dict[str, Any], run_path: str, tracks, errors, data: dict, root: str | None, page_dir: Path
) -> list[tuple[str, str]]:
    """The header's (label, HTML) pairs: when, what, with which weights, and how right."""
    e = html.escape
    silent = int(tracks["top_genre"].isna().sum())
    hours = float(tracks["duration_s"].sum()) / 3600 if len(tracks) else 0.0
    finished = e(human_time(manifest.get("finished_at")))
    took = _duration(manifest.get("wall_time_s"))
    catalogue = manifest.get("catalogue")
    shown_catalogue = root or (catalogue if catalogue and is_remote(catalogue) else None)
    if shown_catalogue and catalogue and os.path.normpath(catalogue) != shown_catalogue:
        where = f"{e(shown_catalogue)} <small>(given as <code>{e(catalogue)}</code>)</small>"
    else:
        where = e(shown_catalogue or catalogue or "?")
    digest = str(manifest.get("weights_sha256") or "")
    weights = f'<abbr title="sha256 {e(digest)}"><code>{e(digest[:12])}</code></abbr>' if digest else "?"
    facts = [
        ("finished", finished + (f" <small>(took {e(took)})</small>" if took else "")),
        ("catalogue", where),
        (
            "tracks",
            f"{len(tracks)} tracks ({silent} silent), {len(errors)} file(s) with errors, "
            f"{hours:.2f} h of audio",
        ),
        ("weights", weights),
        ("run folder", e(str(Path(run_path).resolve()))),
    ]
    head = (manifest.get("options") or {}).get("head")
    if head and data.get("user_genres"):  # run --head: whose genres the "your genre" column shows
        taxonomy = ", ".join(head.get("taxonomy") or [])
        facts.append(
            ("your genres", f"{e(head.get('path') or '?')} <small>({e(taxonomy)})</small>")
        )
    codes = data["tracks"]["match"]
    labelled = [c for c in codes if c is not None]
    if labelled:
        right = labelled.count(report_data.RIGHT)
        wrong = labelled.count(report_data.WRONG)
        other = labelled.count(report_data.NOT_A_GENRE)
        scored = right + wrong
        text = (
            f'<span class="right">✓ {right} right</span>, <span class="wrong">✗ {wrong} wrong</span>'
            + (f" of {scored} ({100 * right / scored:.1f} %)" if scored else "")
            + (f", {other} with a label that is not a genre" if other else "")
            + ' · <a href="#match=wrong">show the wrong ones</a>'
        )
        evaluation = Path(run_path) / "evaluation"
        if (evaluation / "summary.json").is_file():
            href = os.path.relpath(evaluation, page_dir.resolve())
            links = " · ".join(
                f'<a href="{e(Path(href, f).as_posix())}">{label}</a>'
                for f, label in (
                    ("summary.json", "evaluation summary"),
                    ("confusion_matrix.png", "confusion matrix"),
                    ("misclassified.csv", "misclassified"),
                )
                if (evaluation / f).is_file()
            )
            text += f" · {links}"
        else:
            text += " · <small>(<code>recogenre evaluate</code> adds precision and recall)</small>"
        facts.append(("labelled", text))
    return facts


def errors_html(errors) -> str:
    if not len(errors):
        return ""
    shown = errors.sort_values("path").head(MAX_ERROR_ROWS)
    e = html.escape
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{e('' if report_data._missing(r[c]) else str(r[c]))}</td>"
            for c in ("path", "stage", "error_type", "message")
        )
        + "</tr>"
        for r in shown.to_dict("records")
    )
    more = (
        f"<p>The first {MAX_ERROR_ROWS} are listed; all are in the run's <code>errors</code> table.</p>"
        if len(errors) > MAX_ERROR_ROWS
        else ""
    )
    return (
        f"<h2>Files that could not be classified ({len(errors)})</h2>{more}"
        '<table class="errors"><thead><tr><th>path</th><th>stage</th><th>error</th><th>message</th></tr>'
        "</thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def main(args: argparse.Namespace) -> int:
    run_path = run_to_read(args.output, args.run, "report", "run to report")
    run_id = (layout.read_manifest(run_path) or {}).get("run_id") or Path(run_path).name
    chart_dir = args.charts or report_dir(args.output, run_id)
    html_path = args.html or os.path.join(report_dir(args.output, run_id), PAGE_NAME)
    try:
        done = build_report(run_path, chart_dir, html_path, args.max_track_charts)
    except OSError as err:
        say(f"cannot write the report: {err.strerror or err}: {getattr(err, 'filename', '') or ''}")
        return 1
    from recogenre.analysis.paths import printable

    run_id, charts_in = printable(done["run_id"]), printable(str(Path(done["chart_dir"]).resolve()))
    print(
        f"report of run {run_id}: {count(done['tracks'], 'track')}, {size(done['bytes'])} page, "
        f"{count(done['charts'], 'PNG chart')} in {charts_in}\n"
        f"page: {printable(str(Path(done['html']).resolve()))}",
        flush=True,
    )
    return 0
