"""``AlbumRows`` alone: tracks rows -> one ``albums`` row per album, in milliseconds.

The tracks rows are made here (tagged, untagged, silent, white noise, in several
bundles so Beam merges partial albums); the expected numbers are computed in this
file from the definition in ``analysis/albums.py``'s docstring, not by calling it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pytest
from apache_beam import Create, Flatten
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that

from recogenre.analysis import schemas
from recogenre.analysis.aggregate import UNKNOWN
from recogenre.analysis.albums import album_key
from recogenre.analysis.genres import GENRES
from recogenre.transforms.albums import AlbumRows

RNG = np.random.default_rng(22)
RUN_ID = "run-22"


def track(
    path: str, *, album=None, albumartist=None, silent=False, noise=False, confidence=0.3, analysed=None
):
    vec = RNG.dirichlet(np.ones(len(GENRES)))
    row = {
        "path": path,
        "duration_s": float(RNG.uniform(20, 300)),
        **({g: None for g in GENRES} if silent else {g: float(v) for g, v in zip(GENRES, vec)}),
        "top_genre": None if silent else UNKNOWN if noise else GENRES[int(np.argmax(vec))],
        "confidence": None if silent else confidence,
        "white_noise": noise,
        "album": album,
        "albumartist": albumartist,
    }
    row["analysed_s"] = row["duration_s"] if analysed is None else analysed
    return row


def library() -> list[dict]:
    rows = [track(f"/lib/A/One/{i:02d}.mp3", album="One", albumartist="A") for i in range(5)]
    rows += [
        track(f"/lib/A/One/CD2/{i:02d}.mp3", album="One", albumartist="A") for i in range(2)
    ]  # same album
    rows += [track("/lib/A/One/silent.mp3", album="One", albumartist="A", silent=True)]
    rows += [track(f"/lib/Loose/{i}.flac") for i in range(3)]  # no tags: the folder is the album
    rows += [track("/lib/Loose/noise.flac", noise=True)]
    rows += [track(f"/lib/Hits/{i}.ogg", album="Greatest Hits") for i in range(2)]  # no albumartist
    rows += [track(f"/lib/Other/{i}.ogg", album="Greatest Hits", confidence=0.01) for i in range(2)]
    return rows


def expected(rows: list[dict], min_confidence: float) -> dict[tuple, dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        folder = r["path"].rsplit("/", 1)[0]
        key = (r["albumartist"], r["album"], None) if r["albumartist"] else (None, r["album"], folder)
        groups.setdefault(key, []).append(r)
    out = {}
    for key, members in groups.items():
        voting = [r for r in members if r[GENRES[0]] is not None and not r["white_noise"]]
        w = np.array([r["analysed_s"] for r in voting])
        vec = np.array([[r[g] for g in GENRES] for r in voting])
        mean = (w[:, None] * vec).sum(0) / w.sum()
        conf = float((w * np.array([r["confidence"] for r in voting])).sum() / w.sum())
        top = UNKNOWN if conf < min_confidence else GENRES[int(np.argmax(mean))]
        out[key] = {
            "n_tracks": len(members),
            "duration_s": sum(r["duration_s"] for r in members),
            "genres": mean,
            "confidence": conf,
            "top_genre": top,
            "agreement": sum(r["top_genre"] == top for r in voting) / len(voting),
            "folder": min(r["path"].rsplit("/", 1)[0] for r in members),
        }
    return out


def check(want: dict[tuple, dict]):
    def _check(rows):
        assert len(rows) == len(want)
        pa.Table.from_pylist(rows, schemas.ALBUMS)  # every row fits the table's schema
        for row in rows:
            key = (row["albumartist"], row["album"], None if row["albumartist"] else row["folder"])
            w = want[key]
            assert (
                row["album_id"] == hashlib.sha1("\x1f".join(v or "" for v in key).encode()).hexdigest()[:16]
            )
            assert row["n_tracks"] == w["n_tracks"] and row["top_genre"] == w["top_genre"]
            assert row["folder"] == w["folder"] and row["run_id"] == RUN_ID
            for name in ("duration_s", "confidence", "agreement"):
                assert row[name] == pytest.approx(w[name], abs=1e-9), name
            np.testing.assert_allclose([row[g] for g in GENRES], w["genres"], rtol=0, atol=1e-9)
            assert row["top_score"] == pytest.approx(float(np.max(w["genres"])), abs=1e-9)

    return _check


def test_album_rows_combine_tracks_per_album():
    rows = library()
    want = expected(rows, 0.06)
    assert len(want) == 4  # One (two folders), Loose, Greatest Hits in Hits/ and in Other/
    with BeamTestPipeline() as p:
        # three bundles, so partial albums are merged
        parts = [p | f"Part {i}" >> Create(rows[i::3]) for i in range(3)]
        albums = tuple(parts) | "All" >> Flatten() | AlbumRows(RUN_ID, 0.06)
        assert_that(albums, check(want))


def test_an_album_of_silent_tracks_has_no_genre_and_the_folder_is_the_key():
    rows = [track("/lib/Quiet/a.wav", silent=True), track("/lib/Quiet/b.wav", silent=True)]
    assert album_key(rows[0]) == album_key({"path": "/lib/Quiet/c.wav"})  # tag columns absent: the folder

    def _check(out):
        (row,) = out
        assert (row["n_tracks"], row["top_genre"], row["confidence"], row["agreement"]) == (
            2,
            None,
            None,
            None,
        )
        assert row["folder"] == "/lib/Quiet" and row["album"] is None and row["albumartist"] is None
        assert all(row[g] is None for g in GENRES)

    with BeamTestPipeline() as p:
        assert_that(p | Create(rows) | AlbumRows(RUN_ID), _check)
