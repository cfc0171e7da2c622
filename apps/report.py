"""``recogenre report``: charts and one self-contained HTML page from a run's Parquet.

The page embeds its charts as data URIs and sorts its table with a few lines
of inline JavaScript, so it can be mailed, archived next to the run, or
opened from any folder without a web server or network access. PNG files
are written as well, for slides and READMEs.

Only the run's own tables are read -- nothing is re-classified -- so a
report of last night's run costs seconds, not another pass over the audio.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from apps import charts
from transforms.genres import GENRES

DEFAULT_MAX_TRACK_CHARTS = 100
REPORT_DIR = "report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("output", metavar="OUT", help="output folder of `recogenre run` (reads OUT/latest)")
    p.add_argument("--run", metavar="RUN_ID", help="report OUT/runs/RUN_ID instead of OUT/latest")
    p.add_argument(
        "--html", metavar="PATH", help="where to write the page (default: the run's report/report.html)"
    )
    p.add_argument("--charts", metavar="DIR", help="folder for the PNG files (default: the run's report/)")
    p.add_argument(
        "--max-track-charts",
        type=int,
        default=DEFAULT_MAX_TRACK_CHARTS,
        metavar="N",
        help=f"draw per-track charts for the first N tracks only (default {DEFAULT_MAX_TRACK_CHARTS}); "
        "the table always lists every track",
    )


def say(message: str) -> None:
    print(f"recogenre: {message}", file=sys.stderr, flush=True)


def find_run(out: str, run_id: str | None) -> str | None:
    from pipeline import layout

    if run_id:
        path = Path(layout.run_dir(out, run_id))
        return str(path.resolve()) if path.is_dir() else None
    return layout.latest_run(out)


def display_names(paths: list[str]) -> list[str]:
    """Paths relative to the folder they share: short, yet unique when file names repeat."""
    if not paths:
        return []
    if len(paths) == 1:
        return [os.path.basename(paths[0]) or paths[0]]
    try:
        root = os.path.commonpath(paths)
    except ValueError:  # a mix of absolute and relative paths, or of URLs
        return list(paths)
    return [os.path.relpath(p, root) if root else p for p in paths]


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def build_report(
    run_path: str, chart_dir: str, html_path: str, max_track_charts: int = DEFAULT_MAX_TRACK_CHARTS
) -> dict[str, Any]:
    """Draws the charts and writes the page; returns what was written, for the caller to print."""
    from pipeline.run import read_tables

    tables = read_tables(run_path)
    tracks = tables["tracks"].sort_values("path", kind="stable").reset_index(drop=True)
    frames, errors = tables["frames"], tables["errors"]
    manifest = _manifest(run_path)
    run_id = manifest.get("run_id") or Path(run_path).name
    names = display_names(list(tracks["path"]))

    chart_root = Path(chart_dir)
    (chart_root / "tracks").mkdir(parents=True, exist_ok=True)
    for old in (chart_root / "tracks").glob("*.png"):  # charts of an earlier report of this run
        if old.name.endswith(("-genres.png", "-timeline.png")):
            old.unlink()
    silent = int(tracks["top_genre"].isna().sum())
    counts = tracks["top_genre"].dropna().value_counts().to_dict()
    distribution = charts.genre_distribution(
        counts, silent, f"Top genre of {len(tracks)} tracks (run {run_id})", chart_root / "distribution.png"
    )

    per_track: list[dict[str, Any]] = []
    frames_by_track = {k: g.sort_values("frame_index") for k, g in frames.groupby("track_id", sort=False)}
    for i, row in enumerate(tracks.head(max(0, max_track_charts)).to_dict("records")):
        name = names[i]
        silent = _missing(row["top_genre"])
        percent = None if silent else {g: float(row[g]) * 100 for g in GENRES}
        title = name if silent else f"{name}: {row['top_genre']} ({row['top_score'] * 100:.1f}%)"
        base = chart_root / "tracks" / chart_stem(name, str(row["track_id"]))
        bars = charts.genre_bars(percent, title, f"{base}-genres.png")
        own = frames_by_track.get(row["track_id"])
        timeline = None
        if own is not None and len(own):
            timeline = charts.genre_timeline(
                own["start_s"].to_numpy(),
                own["end_s"].to_numpy(),
                own[list(GENRES)].to_numpy(dtype=float),
                f"{name}: genre share per frame",
                f"{base}-timeline.png",
            )
        per_track.append({"track_id": row["track_id"], "name": name, "bars": bars, "timeline": timeline})

    page = render_html(run_id, manifest, tracks, names, errors, distribution, per_track)
    target = Path(html_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return {
        "run_id": run_id,
        "tracks": len(tracks),
        "charts": 1 + sum(1 + (t["timeline"] is not None) for t in per_track),
        "chart_dir": str(chart_root),
        "html": str(target),
    }


def chart_stem(name: str, track_id: str) -> str:
    """A file name a person recognises (the track's name) that is still unique (its id)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(name)).strip("._")[:60]
    return f"{readable}-{track_id}" if readable else track_id


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA: what a null Parquet cell comes back as."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA refuses to be a bool
        return True


def _manifest(run_path: str) -> dict[str, Any]:
    try:
        return json.loads((Path(run_path) / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _data_uri(png_path: str) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png_path).read_bytes()).decode("ascii")


def _cell(value: Any, digits: int = 1, scale: float = 1.0) -> str:
    number = _number(value)
    if number is None:
        return '<td class="num" data-sort="">–</td>'
    return f'<td class="num" data-sort="{number * scale!r}">{number * scale:.{digits}f}</td>'


def _text_cell(value: Any, link: str | None = None) -> str:
    text = "" if _missing(value) else str(value)
    shown = html.escape(text) or "–"
    if link:
        shown = f'<a href="#{html.escape(link)}">{shown}</a>'
    return f'<td data-sort="{html.escape(text.lower())}">{shown}</td>'


def render_html(
    run_id: str,
    manifest: dict[str, Any],
    tracks,
    names: list[str],
    errors,
    distribution_png: str,
    per_track: list[dict[str, Any]],
) -> str:
    """The whole page as one string; every value from the data is escaped."""
    e = html.escape
    charted = {t["track_id"] for t in per_track}
    head_cells = [
        ("track", "text"),
        ("duration (s)", "num"),
        ("frames", "num"),
        ("silent frames", "num"),
        ("top genre", "text"),
        ("score %", "num"),
        ("label", "text"),
        *[(f"{g} %", "num") for g in GENRES],
    ]
    header = "".join(
        f'<th data-type="{kind}" scope="col" tabindex="0">{e(label)}</th>' for label, kind in head_cells
    )
    rows = []
    for name, row in zip(names, tracks.to_dict("records")):
        link = f"t-{row['track_id']}" if row["track_id"] in charted else None
        cells = [
            _text_cell(name, link).replace("<td ", f'<td title="{e(str(row["path"]))}" ', 1),
            _cell(row["duration_s"]),
            _cell(row["n_frames"], 0),
            _cell(row["n_silent_frames"], 0),
            _text_cell(row["top_genre"] if not _missing(row["top_genre"]) else "silent"),
            _cell(row["top_score"], 1, 100.0),
            _text_cell(row["label"]),
            *[_cell(row[g], 1, 100.0) for g in GENRES],
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")

    error_html = ""
    if len(errors):
        error_rows = "".join(
            "<tr>" + "".join(_text_cell(r[c]) for c in ("path", "stage", "error_type", "message")) + "</tr>"
            for r in errors.sort_values("path").to_dict("records")
        )
        error_html = (
            f"<h2>Files that could not be classified ({len(errors)})</h2>"
            '<table class="sortable"><thead><tr>'
            + "".join(
                f'<th data-type="text" scope="col" tabindex="0">{h}</th>'
                for h in ("path", "stage", "error", "message")
            )
            + f"</tr></thead><tbody>{error_rows}</tbody></table>"
        )

    sections = []
    for t in per_track:
        images = [f'<img alt="genre scores of {e(t["name"])}" src="{_data_uri(t["bars"])}">']
        if t["timeline"]:
            images.append(
                f'<img alt="genre share per frame of {e(t["name"])}" src="{_data_uri(t["timeline"])}">'
            )
        sections.append(
            f'<section id="t-{e(str(t["track_id"]))}"><h3>{e(t["name"])}</h3>{"".join(images)}</section>'
        )
    if len(tracks) > len(per_track):
        sections.append(
            f"<p>Charts are drawn for the first {len(per_track)} of {len(tracks)} tracks "
            "(<code>--max-track-charts</code>).</p>"
        )

    silent = int(tracks["top_genre"].isna().sum())
    hours = float(tracks["duration_s"].sum()) / 3600 if len(tracks) else 0.0
    facts = [
        f"{len(tracks)} tracks ({silent} silent), {len(errors)} errors, {hours:.2f} h of audio",
        f"catalogue: {manifest.get('catalogue', '?')}",
        f"finished: {manifest.get('finished_at', '?')}",
        f"weights sha256: {manifest.get('weights_sha256', '?')}",
    ]
    return PAGE.format(
        title=e(f"recogenre report: run {run_id}"),
        facts="".join(f"<li>{e(str(f))}</li>" for f in facts),
        distribution=_data_uri(distribution_png),
        header=header,
        rows="\n".join(rows),
        errors=error_html,
        sections="\n".join(sections),
        script=SORT_SCRIPT,
    )


SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var numeric = th.dataset.type === "num";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) { return row.cells[col].dataset.sort; }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b), r;
        if (numeric) {
          x = x === "" ? -Infinity : parseFloat(x);
          y = y === "" ? -Infinity : parseFloat(y);
          r = x < y ? -1 : x > y ? 1 : 0;
        } else {
          r = x.localeCompare(y);
        }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") sort(); });
  });
});
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 2em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }}
th {{ cursor: pointer; background: #f4f4f4; position: sticky; top: 0; user-select: none; }}
th[aria-sort=ascending]::after {{ content: " ▲"; }}
th[aria-sort=descending]::after {{ content: " ▼"; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
#tracks td:first-child {{ white-space: nowrap; }}
img {{ max-width: 100%; display: block; margin: 0.5em 0; }}
section {{ border-top: 1px solid #ddd; margin-top: 1.5em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<ul>{facts}</ul>
<h2>Genre distribution</h2>
<img alt="number of tracks per top genre" src="{distribution}">
<h2>Tracks</h2>
<p>Click a column heading to sort; scores are percent of the track's genre vector.</p>
<table class="sortable" id="tracks">
<thead><tr>{header}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
{errors}
<h2>Per track</h2>
{sections}
<script>{script}</script>
</body>
</html>
"""


def main(args: argparse.Namespace) -> int:
    from pipeline import layout

    if not layout.is_local(args.output):
        say(f"report reads local output folders only, not {args.output}")
        return 2
    run_path = find_run(args.output, args.run)
    if run_path is None:
        what = f"run {args.run}" if args.run else f"{args.output}/{layout.LATEST}"
        say(f"no run to report: {what} does not exist (run `recogenre run` first)")
        return 2
    chart_dir = args.charts or os.path.join(run_path, REPORT_DIR)
    html_path = args.html or os.path.join(chart_dir, "report.html")
    try:
        done = build_report(run_path, chart_dir, html_path, args.max_track_charts)
    except OSError as err:
        say(f"cannot write the report: {err.strerror or err}: {getattr(err, 'filename', '') or ''}")
        return 1
    print(
        f"report of run {done['run_id']}: {done['tracks']} tracks, {done['charts']} charts in "
        f"{done['chart_dir']}\npage: {done['html']}",
        flush=True,
    )
    return 0
