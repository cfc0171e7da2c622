"""The report's single HTML page, filled in: the markup, style and script that draw it
are package files (``apps/static/report.html``, ``report.css``, ``report.js``), inlined here.

Self-contained on purpose (no external file, font or library, no network):
the page is mailed, archived and opened from file:// on machines that have
no web server. The script is hand-written rather than a charting library
because the whole page must stay under ~5 MB for 10,000 tracks and open in
seconds; it needs one table and two small SVG charts.

The page reads its filter from the URL (``?q=rock`` or ``#q=rock&genre=metal``)
on load and writes it back to the hash, so a filtered view can be
bookmarked, shared, and checked by a headless browser's ``--dump-dom``.
"""

from __future__ import annotations

import html
import json
from typing import Any

from recogenre.analysis.aggregate import UNKNOWN
from recogenre.analysis.genres import GENRES
from recogenre.apps.assets import asset
from recogenre.apps.colours import GENRE_COLOURS, SILENT_COLOUR, UNKNOWN_EDGE, UNKNOWN_FILL

# The SVG fill of the ``unknown`` bar: white with diagonal lines (defined in the chart's <defs>).
UNKNOWN_PATTERN = "unknown-hatch"


def script_json(data: Any) -> str:
    """JSON that cannot end the <script> element it sits in, whatever the track names hold."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def distribution_svg(counts: dict[str, int], silent: int) -> str:
    """Tracks per top genre as an inline SVG; each bar filters the table by its genre."""
    bars = [(g, int(counts.get(g, 0)), GENRE_COLOURS[g]) for g in GENRES]
    if counts.get(UNKNOWN):
        bars.append((UNKNOWN, int(counts[UNKNOWN]), f"url(#{UNKNOWN_PATTERN})"))
    if silent:
        bars.append(("silent", silent, SILENT_COLOUR))
    width, height, left, bottom, top = 660, 210, 8, 46, 18
    slot = (width - left) / len(bars)
    peak = max([c for _, c, _ in bars] + [1])
    parts = [
        f'<svg id="distribution" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="number of tracks per top genre">'
    ]
    if counts.get(UNKNOWN):
        parts.append(
            f'<defs><pattern id="{UNKNOWN_PATTERN}" width="5" height="5" patternUnits="userSpaceOnUse" '
            f'patternTransform="rotate(45)"><rect width="5" height="5" fill="{UNKNOWN_FILL}"/>'
            f'<line x1="0" y1="0" x2="0" y2="5" stroke="{UNKNOWN_EDGE}" stroke-width="1.5"/></pattern></defs>'
        )
    plot = height - bottom - top
    for i, (genre, count, colour) in enumerate(bars):
        h = plot * count / peak
        x = left + i * slot
        y = top + plot - h
        edge = f' stroke="{UNKNOWN_EDGE}"' if genre == UNKNOWN else ""
        parts.append(
            f'<g class="dbar" data-genre="{genre}" tabindex="0"><title>{genre}: {count} tracks</title>'
            f'<rect x="{x + 4:.1f}" y="{top:.1f}" width="{slot - 8:.1f}" height="{plot:.1f}" '
            'fill="transparent"/>'
            f'<rect x="{x + 4:.1f}" y="{y:.1f}" width="{slot - 8:.1f}" height="{h:.1f}" '
            f'fill="{colour}"{edge}/>'
            f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}" class="count">{count}</text>'
            f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 16:.1f}" class="glabel">{genre}</text></g>'
        )
    parts.append(
        f'<line x1="{left}" x2="{width}" y1="{top + plot}" y2="{top + plot}" stroke="#888"/>'
        f'<text x="{width / 2}" y="{height - 6}" class="axis">top genre (click a bar to filter)</text></svg>'
    )
    return "".join(parts)


def render(title: str, facts: list[tuple[str, str]], distribution: str, data: dict, errors_html: str) -> str:
    """The page; ``facts`` are (label, HTML) pairs already escaped by the caller."""
    fact_html = "".join(f"<dt>{html.escape(k)}</dt><dd>{v}</dd>" for k, v in facts)
    colours = [GENRE_COLOURS[g] for g in GENRES]
    return asset("report.html").format(
        style=asset("report.css"),
        title=html.escape(title),
        facts=fact_html,
        distribution=distribution,
        genre_options="".join(f'<option value="{g}">{g}</option>' for g in [*GENRES, UNKNOWN, "silent"]),
        data=script_json(
            {**data, "colours": colours, "silent_colour": SILENT_COLOUR, "unknown_edge": UNKNOWN_EDGE}
        ),
        errors=errors_html,
        script=asset("report.js"),
    )
