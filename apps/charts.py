"""The charts of ``classify --plot``, ``report`` and ``evaluate``, drawn with matplotlib.

Every chart is a plain function from numbers to a PNG file so the command
line, the report and the evaluation draw the same picture of the same data.
matplotlib is imported lazily and always with the Agg backend: these run on
servers and Beam workers without a display, and importing pyplot with an
interactive backend there would fail or pop up windows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from recogenre.analysis.genres import GENRES
from recogenre.apps.colours import GENRE_COLOURS, SILENT_COLOUR, UNKNOWN_EDGE, UNKNOWN_FILL, UNKNOWN_HATCH

DPI = 100
BAR_COLOUR = "#4f7cac"


def _pyplot():
    # Respect a user's MPLCONFIGDIR, but never let matplotlib fail on a
    # read-only home: it falls back to a temporary cache on its own.
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> str:
    plt = _pyplot()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(target, dpi=DPI, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return str(target)


def genre_bars(genres: Mapping[str, float] | None, title: str, path: str | os.PathLike) -> str:
    """The original quick_test's ``genres_prediction.png``: one bar per genre, in percent.

    ``genres`` maps each genre to a percentage 0-100 (as ``classify --json``);
    ``None`` is a silent track, drawn as an empty chart that says so rather
    than as zeros, which would read as "no genre scored anything".
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    if genres is None:
        ax.bar(GENRES, [0.0] * len(GENRES), color=BAR_COLOUR)
        ax.text(0.5, 0.5, "silent: no genre", ha="center", va="center", transform=ax.transAxes)
    else:
        values = [float(genres[g]) for g in GENRES]
        top = int(np.argmax(values))
        # the genre's own colour, as in the timeline and the report; the top bar outlined
        bars = ax.bar(GENRES, values, color=[GENRE_COLOURS[g] for g in GENRES])
        bars[top].set_edgecolor("#222222")
        bars[top].set_linewidth(1.5)
        for i, (bar, v) in enumerate(zip(bars, values)):
            ax.annotate(
                f"{v:.1f}%",
                (bar.get_x() + bar.get_width() / 2, v),
                ha="center",
                va="bottom",
                fontsize=8,
                fontweight="bold" if i == top else "normal",
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_ylim(0, 100)
    ax.set_ylabel("score (%)")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)


def genre_timeline(
    starts: Sequence[float],
    ends: Sequence[float],
    scores: np.ndarray,
    title: str,
    path: str | os.PathLike,
) -> str:
    """Each genre's score (percent) over a track's frames, as a stacked area per frame.

    ``scores`` is (frames, 10) of normalised fractions; a silent frame is a
    row of NaN and shows as a gap, so silence is visible rather than drawn as
    a genre. A one-frame track gets one narrow stacked column with its shares
    written beside it, not a block across the whole axis. The legend lists
    the genres top down, in the order the stack shows them.
    """
    plt = _pyplot()
    scores = np.asarray(scores, dtype=float).reshape(-1, len(GENRES)) * 100
    starts = np.asarray(starts, dtype=float)
    ends = np.asarray(ends, dtype=float)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    single = len(starts) == 1
    widths = np.maximum(ends - starts, 1e-9)
    if single:  # a narrow column, not a flat block spanning the chart
        widths = widths * 0.25
    bottom = np.zeros(len(starts))
    for j, genre in enumerate(GENRES):
        column = np.nan_to_num(scores[:, j])
        ax.bar(
            starts,
            column,
            width=widths,
            bottom=bottom,
            align="edge",
            color=GENRE_COLOURS[genre],
            label=genre,
            edgecolor="white",
            linewidth=0.5,
        )
        if single and column[0] >= 4:
            ax.text(
                starts[0] + widths[0] * 1.1,
                bottom[0] + column[0] / 2,
                f"{genre} {column[0]:.1f}%",
                va="center",
                fontsize=8,
            )
        bottom += column
    silent = np.isnan(scores).all(axis=1)
    for s, w in zip(starts[silent], widths[silent]):
        ax.text(s + w / 2, 50, "silent", ha="center", va="center", fontsize=8, rotation=90)
    ax.set_xlim(float(starts.min(initial=0.0)), float(ends.max(initial=1.0)))
    ax.set_ylim(0, 100)
    if single:  # the column stands for the frame's whole span, which its tick says
        ax.set_xticks([starts[0] + widths[0] / 2], [f"{starts[0]:.1f}–{ends[0]:.1f} s"])
        ax.set_xlabel("one frame: the track's scores are this frame's")
    else:
        ax.set_xlabel("time (s)")
    ax.set_ylabel("genre share (%)")
    ax.set_title(title, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False
    )
    return _save(fig, path)


def genre_distribution(counts: Mapping[str, int], n_silent: int, title: str, path: str | os.PathLike) -> str:
    """How many tracks have each top genre, every genre shown even at zero."""
    plt = _pyplot()
    extra = [g for g in ("unknown",) if counts.get(g)]  # below --min-confidence
    labels = list(GENRES) + extra + (["silent"] if n_silent else [])
    values = [int(counts.get(g, 0)) for g in [*GENRES, *extra]] + ([n_silent] if n_silent else [])
    fig, ax = plt.subplots(figsize=(8, 4))
    colours = [GENRE_COLOURS.get(g, UNKNOWN_FILL if g == "unknown" else SILENT_COLOUR) for g in labels]
    bars = ax.bar(labels, values, color=colours)
    if extra:  # unknown is no genre: hatched and outlined, unlike any genre's colour
        bars[len(GENRES)].set(edgecolor=UNKNOWN_EDGE, hatch=UNKNOWN_HATCH, linewidth=1)
    for bar, v in zip(bars, values):
        if v:
            ax.annotate(
                str(v),
                (bar.get_x() + bar.get_width() / 2, v),
                ha="center",
                va="bottom",
                fontsize=8,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_ylabel("tracks")
    ax.set_ylim(0, max([*values, 1]) * 1.15)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)


def confusion_matrix(
    matrix: np.ndarray, labels: Sequence[str], predicted: Sequence[str], title: str, path: str | os.PathLike
) -> str:
    """Counts of (true label, predicted genre), true labels as rows, zeros left blank."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(predicted), 1.0 + 0.55 * len(labels)))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max(initial=0)), 1))
    ax.set_xticks(range(len(predicted)), predicted, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    threshold = matrix.max(initial=0) / 2
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                colour = "white" if matrix[i, j] > threshold else "black"
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=colour, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def numbered(path: str | os.PathLike, index: int, count: int) -> str:
    """``out.png`` for one chart; ``out-1.png``, ``out-2.png``… (1-based) when there are several."""
    target = Path(path)
    if count <= 1:
        return str(target)
    return str(target.with_name(f"{target.stem}-{index + 1}{target.suffix or '.png'}"))


def plot_result(result, path: str | os.PathLike, index: int = 0, count: int = 1) -> str:
    """``classify --plot``: the bar chart of one classified file (a ``TrackResult``)."""
    answer = result.to_json()
    name = os.path.basename(result.path)
    vector = result.vector
    title = name if vector.silent else f"{name}: {vector.top_genre} ({vector.top_score * 100:.1f}%)"
    if answer["top_genre"] not in (None, vector.top_genre):  # below --min-confidence
        best = f"{vector.top_genre} {vector.top_score * 100:.1f}%"
        title = f"{name}: {answer['top_genre']}, confidence {vector.confidence:.3f} (best guess {best})"
    return genre_bars(answer["genres"], title, numbered(path, index, count))
