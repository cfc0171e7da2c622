"""Generated run snapshots: a library-sized run folder without classifying 10,000 files.

The tables are written with the project's own schemas and layout (``runs/<id>``,
a manifest, the ``latest`` link), so whatever reads a real run reads these.
Scores are random but shaped like real ones: frames of 29.12 s, genre
vectors summing to one, some silent frames and tracks, labels that mostly
(not always) agree with the top genre, some that are not genres at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from recogenre.analysis import schemas
from recogenre.analysis.frames import FRAME_SECONDS
from recogenre.analysis.genres import GENRES
from recogenre.pipeline import layout

# Headless, offline and without a first run: without the background-networking flags
# chromium keeps trying the closed network. Used by the report tests and benchmarks/report.py.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

ODD_NAME = '<b>"Loud" & clear</b> – ünïcode.mp3'


def write_snapshot(out: Path, n_tracks: int, run_id: str = "20261126T023000Z-abcd", seed: int = 13) -> dict:
    """Writes ``out/runs/<run_id>`` and points ``out/latest`` at it; returns what the test needs to know."""
    rng = np.random.default_rng(seed)
    library = out.parent / "library"
    folders = [*GENRES, "Incoming"]
    folder = rng.integers(0, len(folders), n_tracks)
    paths = [
        str(library / folders[f] / f"artist {i % 97:02d}" / f"{i:05d} track {i}.mp3")
        for i, f in enumerate(folder)
    ]
    paths[7] = str(library / "Incoming" / ODD_NAME)
    duration = np.round(rng.uniform(12.0, 420.0, n_tracks), 2)
    n_frames = np.maximum(1, (duration // FRAME_SECONDS).astype(int))
    n_frames[:3] = 1  # a few one-frame tracks, whose timeline is a single column

    total = int(n_frames.sum())
    owner = np.repeat(np.arange(n_tracks), n_frames)
    index = np.arange(total) - np.repeat(np.cumsum(n_frames) - n_frames, n_frames)
    favourite = np.where(  # mostly the genre of the folder the track sits in
        (folder < len(GENRES)) & (rng.random(n_tracks) < 0.8), folder, rng.integers(0, len(GENRES), n_tracks)
    )
    alpha = np.full((total, len(GENRES)), 0.4)
    alpha[np.arange(total), favourite[owner]] = 3.0
    frame_scores = rng.gamma(alpha)  # Dirichlet draws, one per frame
    frame_scores /= frame_scores.sum(axis=1, keepdims=True)
    silent_frame = rng.random(total) < 0.03
    silent_track = rng.random(n_tracks) < 0.01
    silent_frame |= silent_track[owner]
    frame_scores[silent_frame] = np.nan

    sums = np.zeros((n_tracks, len(GENRES)))
    np.add.at(sums, owner[~silent_frame], frame_scores[~silent_frame])
    vectors = sums / np.where(sums.sum(axis=1, keepdims=True) > 0, sums.sum(axis=1, keepdims=True), 1)
    vectors[silent_track] = np.nan
    top = np.argmax(np.nan_to_num(vectors, nan=-1), axis=1)
    top_genre = np.array([None if s else GENRES[t] for s, t in zip(silent_track, top)], dtype=object)
    top_score = np.where(silent_track, np.nan, np.nanmax(np.nan_to_num(vectors, nan=0), axis=1))

    labels = np.array([None] * n_tracks, dtype=object)
    labelled = (rng.random(n_tracks) < 0.6) & (folder < len(GENRES))
    labels[labelled] = [GENRES[f] for f in folder[labelled]]
    labels[labelled & (folder == GENRES.index("hiphop"))] = "Hip-Hop"
    labels[rng.random(n_tracks) < 0.02] = "spoken word"

    track_ids = [hashlib.sha1(p.encode()).hexdigest()[:16] for p in paths]
    run = Path(layout.run_dir(str(out), run_id))
    silent_counts = np.bincount(owner[silent_frame], minlength=n_tracks)
    tracks = {
        "track_id": track_ids,
        "path": paths,
        "duration_s": duration,
        "n_frames": n_frames.astype(np.int32),
        "n_silent_frames": silent_counts.astype(np.int32),
        **{g: vectors[:, j] for j, g in enumerate(GENRES)},
        "top_genre": top_genre,
        "top_score": top_score,
        "label": labels,
        "run_id": [run_id] * n_tracks,
    }
    starts = index * FRAME_SECONDS
    frames = {
        "track_id": np.array(track_ids, dtype=object)[owner],
        "frame_index": index.astype(np.int32),
        "start_s": starts,
        "end_s": starts + FRAME_SECONDS,
        "silent": silent_frame,
        **{g: frame_scores[:, j] for j, g in enumerate(GENRES)},
        **{schemas.RAW_PREFIX + g: frame_scores[:, j].astype(np.float32) for j, g in enumerate(GENRES)},
    }
    for name, columns, schema in (
        ("tracks", tracks, schemas.TRACKS),
        ("frames", frames, schemas.FRAMES),
        (
            "errors",
            {
                "path": [str(library / "broken.mp3")],
                "stage": ["decode"],
                "error_type": ["ValueError"],
                "message": ["not an audio file"],
                "run_id": [run_id],
            },
            schemas.ERRORS,
        ),
    ):
        arrays = [
            pa.array(columns[f.name], type=f.type, from_pandas=True)
            if f.name in columns
            else pa.nulls(len(next(iter(columns.values()))), f.type)
            for f in schema
        ]
        (run / name).mkdir(parents=True)
        pq.write_table(
            pa.Table.from_arrays(arrays, schema=schema), run / name / "part-00000-of-00001.parquet"
        )
    finished = dt.datetime(2026, 11, 26, 2, 41, 7, tzinfo=dt.UTC)
    layout.write_manifest(
        str(run),
        {
            "run_id": run_id,
            "started_at": (finished - dt.timedelta(minutes=11)).isoformat(),
            "finished_at": finished.isoformat(),
            "catalogue": str(library),
            "output": str(out),
            "weights_sha256": hashlib.sha256(b"generated").hexdigest(),
            "wall_time_s": 660.0,
        },
    )
    layout.switch_latest(str(out), run_id)
    return {
        "run": run,
        "library": library,
        "paths": paths,
        "top_genre": list(top_genre),
        "labels": list(labels),
        "n_frames": [int(v) for v in n_frames],
    }
