"""A classified track as text: what ``recogenre classify`` prints and ``print(result)`` shows."""

from __future__ import annotations

from recogenre.analysis.aggregate import UNKNOWN
from recogenre.analysis.genres import GENRES
from recogenre.analysis.paths import printable

SILENCE_TEXT = "-60 dBFS"


def format_text(result) -> str:
    """The original quick_test's listing: genres by score, three decimals."""
    vector = result.vector
    n = len(result.frames)
    about = confidence_text(result)  # empty for a silent track
    head = f"{printable(result.path)}  ({result.duration_s:.1f} s, {n} frame{'s' if n != 1 else ''}{about})"
    if result.decode_warnings:
        head += f"\n  decode warnings: {printable(result.decode_warnings)}"
    if vector.silent:
        return f"{head}\n  silent: no frame above {SILENCE_TEXT}, no genre"
    ranked = sorted(zip(GENRES, vector.genres), key=lambda gv: -gv[1])
    width = max(len(g) for g in GENRES)
    lines = [f"  {g:<{width}}  {v * 100:7.3f}%" for g, v in ranked]
    return "\n".join([head, *lines])


def short_text(result) -> str:
    """``TrackResult(path: top genre NN.N%, n frames, d s)``: the repr of a result in a list."""
    vector = result.vector
    n = len(result.frames)
    verdict = "silent" if vector.silent else f"{vector.top_genre} {vector.top_score * 100:.1f}%"
    if result.top_genre == UNKNOWN:
        verdict = f"{UNKNOWN} ({verdict}, confidence {vector.confidence:.3f})"
    frames = f"{n} frame{'s' if n != 1 else ''}"
    return f"TrackResult({printable(result.path)}: {verdict}, {frames}, {result.duration_s:.1f} s)"


def confidence_text(result) -> str:
    """The head line's confidence, ``unknown`` below the threshold, seconds analysed; empty when silent."""
    vector = result.vector
    if vector.silent:
        return ""
    text = f"; confidence {vector.confidence:.3f}"
    if result.white_noise:
        text += f"; white noise: {UNKNOWN}"
    elif result.top_genre == UNKNOWN:
        text += f" < {result.min_confidence:g}: {UNKNOWN}"
    return f"{text}; analysed {vector.analysed_s:.1f} s"
