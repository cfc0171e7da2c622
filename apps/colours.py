"""The colours of the genres, of ``unknown`` and of silent tracks, for every chart and page.

One palette for the matplotlib charts (:mod:`recogenre.apps.charts`) and the HTML
report (:mod:`recogenre.apps.report_page`), so a genre looks the same everywhere.
``unknown`` (confidence below ``--min-confidence``) is not a genre and gets no
colour of its own: it is drawn white, hatched and outlined, which no genre
colour can be mistaken for (a grey would look like ``pop``'s #7f7f7f).
"""

from __future__ import annotations

from recogenre.analysis.genres import GENRES

# One colour per genre, from a qualitative palette (matplotlib's tab10).
GENRE_COLOURS = dict(
    zip(
        GENRES,
        (
            "#1f77b4",
            "#ff7f0e",
            "#2ca02c",
            "#d62728",
            "#9467bd",
            "#8c564b",
            "#e377c2",
            "#7f7f7f",
            "#bcbd22",
            "#17becf",
        ),
    )
)
SILENT_COLOUR = "#bbbbbb"  # a track with no audible frame: no genre at all
UNKNOWN_FILL = "#ffffff"
UNKNOWN_EDGE = "#333333"  # the outline and the hatching's lines
UNKNOWN_HATCH = "///"  # matplotlib's hatch; the page draws the same diagonal lines
