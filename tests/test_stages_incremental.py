"""``PlanChanges`` and ``CarryFrames`` alone, on a tiny previous snapshot written here.

The previous snapshot's tables are written with the product's own schemas
(``analysis/schemas.py``); the library is a folder of small generated WAVs,
listed by the product's listing (canonical paths), so every kind of change
a nightly run knows appears once: unchanged, touched, rewritten, new (also a
new file the size of a vanished one), retried, moved, removed and tag-written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # pytest would collect "Test*"
from apache_beam.testing.util import assert_that, equal_to
from stage_fakes import write_sine

from recogenre.analysis import schemas
from recogenre.analysis.catalogue_files import list_entries, track_id_for
from recogenre.analysis.frames import FRAME_SECONDS
from recogenre.analysis.genres import GENRES
from recogenre.analysis.paths import canonical_file, canonical_root
from recogenre.analysis.schemas import RAW_PREFIX
from recogenre.analysis.tag_ledger import FIELDS
from recogenre.transforms.incremental import CarryFrames, PlanChanges, new_file_changes

PREVIOUS_RUN, RUN = "2026-01-01T00-00-00", "2026-01-02T00-00-00"
RNG = np.random.default_rng(5)


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def when(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def track_row(path: str, size: int, mtime: float, sha: str) -> dict:
    genres = RNG.dirichlet(np.ones(len(GENRES)))
    return {
        "track_id": track_id_for(path),
        "path": path,
        "duration_s": 2 * FRAME_SECONDS,
        "n_frames": 2,
        "n_silent_frames": 0,
        **{g: float(v) for g, v in zip(GENRES, genres)},
        "top_genre": GENRES[int(np.argmax(genres))],
        "top_score": float(genres.max()),
        "label": None,
        "size_bytes": size,
        "mtime": when(mtime),
        "content_sha256": sha,
        "sample_rate": 22_050,
        "codec": "FLOAT",
        "weights_sha256": "f" * 64,
        "run_id": PREVIOUS_RUN,
        "decode_warnings": None,
        "embedding": [float(v) for v in RNG.uniform(-1, 1, 32).astype(np.float32)],
        "confidence": 0.25,
        "analysed_s": 2 * FRAME_SECONDS,
    }


def frame_rows(track_id: str) -> list[dict]:
    rows = []
    for index in range(2):
        raw = RNG.uniform(0.01, 0.99, len(GENRES)).astype(np.float32)
        rows.append(
            {
                "track_id": track_id,
                "frame_index": index,
                "start_s": index * FRAME_SECONDS,
                "end_s": (index + 1) * FRAME_SECONDS,
                "silent": False,
                **{g: float(v) for g, v in zip(GENRES, raw / raw.sum())},
                **{RAW_PREFIX + g: float(v) for g, v in zip(GENRES, raw)},
                "embedding": [float(v) for v in RNG.uniform(-1, 1, 32).astype(np.float32)],
            }
        )
    return rows


def write_table(folder, rows: list[dict], schema: pa.Schema) -> None:
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema), folder / "part-00000-of-00001.parquet")


@pytest.fixture
def nightly(tmp_path):
    """A library folder, the previous snapshot of it, and what changed since."""
    lib = tmp_path / "lib"
    lib.mkdir()
    root = canonical_root(str(lib))
    same = write_sine(lib / "same.wav", 1.0, hz=220)
    touched = write_sine(lib / "touched.wav", 1.0, hz=230)
    rewritten = write_sine(lib / "rewritten.wav", 1.0, hz=240)
    failed = write_sine(lib / "failed.wav", 1.0, hz=250)
    renamed = write_sine(lib / "renamed.wav", 3.0, hz=260)  # was old/renamed.wav
    lookalike = write_sine(lib / "lookalike.wav", 2.0, hz=270)  # the size of gone.wav, not its content
    newcomer = write_sine(lib / "newcomer.wav", 4.0, hz=280)
    tagged = write_sine(lib / "tagged.wav", 1.0, hz=290)
    before_tags = sha256(tagged)
    with open(tagged, "ab") as f:  # what the snapshot saw, plus a tag block written by `recogenre tag`
        f.write(b"LIST" + (8).to_bytes(4, "little") + b"INFOIGNR")
    gone = write_sine(tmp_path / "gone.wav", 2.0, hz=300)  # outside the library: vanished from it
    path = {f.name: canonical_file(str(f)) for f in (same, touched, rewritten, failed, renamed, tagged)}
    path |= {"lookalike.wav": canonical_file(str(lookalike)), "newcomer.wav": canonical_file(str(newcomer))}
    path["old/renamed.wav"] = root + "/old/renamed.wav"
    path["gone.wav"] = root + "/gone.wav"
    assert all(p.startswith(root + "/") for p in path.values())

    def row(name, source, mtime_shift=0.0, sha=None, size=None):
        st = os.stat(source)
        return track_row(path[name], size or st.st_size, st.st_mtime + mtime_shift, sha or sha256(source))

    tracks = [
        row("same.wav", same),
        row("touched.wav", touched, mtime_shift=-100.0),
        row("rewritten.wav", rewritten, mtime_shift=-100.0, sha="0" * 64),
        row("old/renamed.wav", renamed),
        row("gone.wav", gone),
        row("tagged.wav", tagged, mtime_shift=-100.0, sha=before_tags, size=os.stat(tagged).st_size - 16),
    ]
    previous = tmp_path / "runs" / PREVIOUS_RUN
    write_table(previous / "tracks", tracks, schemas.TRACKS)
    error = {"path": path["failed.wav"], "stage": "decode", "error_type": "corrupt", "message": "x"}
    write_table(previous / "errors", [error | {"run_id": PREVIOUS_RUN}], schemas.ERRORS)
    frames = [f for t in tracks for f in frame_rows(t["track_id"])]
    write_table(previous / "frames", frames, schemas.FRAMES)
    ledger = tmp_path / "tag-writes.jsonl"
    entry = dict.fromkeys(FIELDS) | {"path": path["tagged.wav"], "before_sha256": before_tags}
    ledger.write_text(json.dumps(entry | {"after_sha256": sha256(tagged)}) + "\n")
    return {
        "lib": str(lib),
        "previous": str(previous),
        "ledger": str(ledger),
        "path": path,
        "tracks": {t["path"]: t for t in tracks},
        "frames": frames,
    }


def expected_changes(path: dict[str, str], tagged_as: str) -> list[tuple]:
    """(path, track_id, change, previous_path) of every file, present or vanished."""
    kinds = {
        "same.wav": "unchanged",
        "touched.wav": "unchanged",
        "rewritten.wav": "changed",
        "failed.wav": "retried",
        "renamed.wav": "moved",
        "lookalike.wav": "new",
        "newcomer.wav": "new",
        "tagged.wav": tagged_as,
        "gone.wav": "removed",
    }
    moved_from = {"renamed.wav": path["old/renamed.wav"]}
    return [(path[n], track_id_for(path[n]), kind, moved_from.get(n)) for n, kind in kinds.items()]


def check_carried(nightly, names: list[str]):
    """A matcher: the previous rows of ``names``, under their new path, id, mtime and run."""
    path, previous = nightly["path"], nightly["tracks"]
    was = {"renamed.wav": "old/renamed.wav"}

    def check(actual):
        assert sorted(row["path"] for _, row in actual) == sorted(path[n] for n in names)
        for old_id, row in actual:
            name = next(n for n in names if path[n] == row["path"])
            before = previous[path[was.get(name, name)]]
            st = os.stat(row["path"])
            assert old_id == before["track_id"]
            assert set(row) == set(schemas.TRACKS.names)
            assert row["track_id"] == track_id_for(row["path"]) and row["run_id"] == RUN
            assert row["mtime"] == when(st.st_mtime)
            assert (row["size_bytes"], row["content_sha256"]) == (st.st_size, sha256(row["path"]))
            for column in ("top_genre", "n_frames", "sample_rate", "codec", "weights_sha256"):
                assert row[column] == before[column]
            np.testing.assert_allclose([row[g] for g in GENRES], [before[g] for g in GENRES])
            np.testing.assert_allclose(row["embedding"], before["embedding"], rtol=1e-6)

    return check


def test_plan_changes_decides_each_file_from_the_previous_snapshot_and_the_tag_ledger(nightly):
    entries = list_entries(nightly["lib"])
    path = nightly["path"]
    changes = {True: expected_changes(path, "unchanged"), False: expected_changes(path, "changed")}
    carried = ["same.wav", "touched.wav", "renamed.wav"]
    decoded = ["rewritten.wav", "failed.wav", "lookalike.wav", "newcomer.wav"]
    with BeamTestPipeline() as p:
        listed = p | beam.Create(entries)
        for with_ledger in (True, False):
            name = "with" if with_ledger else "without"
            ledger = nightly["ledger"] if with_ledger else None
            plan = listed | f"Plan {name} ledger" >> PlanChanges(nightly["previous"], RUN, ledger)
            rows = plan["changes"] | f"Rows {name}" >> beam.Map(
                lambda r: (r["path"], r["track_id"], r["change"], r["previous_path"])
            )
            assert_that(rows, equal_to(changes[with_ledger]), label=f"Changes {name} ledger")
            assert_that(
                plan["changes"] | f"Runs {name}" >> beam.Map(lambda r: (r["run_id"], bool(r["reason"]))),
                equal_to([(RUN, True)] * len(changes[with_ledger])),
                label=f"Run and reason {name} ledger",
            )
            to_decode = decoded if with_ledger else [*decoded, "tagged.wav"]
            assert_that(
                plan["decode"] | f"Decode paths {name}" >> beam.Map(lambda e: e.path),
                equal_to([path[n] for n in to_decode]),
                label=f"Decode {name} ledger",
            )
            kept = [*carried, "tagged.wav"] if with_ledger else carried
            assert_that(plan["carried"], check_carried(nightly, kept), label=f"Carried {name} ledger")


def test_carry_frames_gives_the_carried_tracks_their_previous_frames(nightly):
    path, previous = nightly["path"], nightly["tracks"]
    moves = {"same.wav": "same.wav", "renamed.wav": "old/renamed.wav"}  # new name: previous name
    carried = [
        (previous[path[old]]["track_id"], previous[path[old]] | {"track_id": track_id_for(path[new])})
        for new, old in moves.items()
    ]
    expected = [
        (track_id_for(path[new]), f["frame_index"], f[RAW_PREFIX + GENRES[0]])
        for new, old in moves.items()
        for f in nightly["frames"]
        if f["track_id"] == previous[path[old]]["track_id"]
    ]
    assert len(expected) == 4
    with BeamTestPipeline() as p:
        frames = p | beam.Create(carried) | CarryFrames(nightly["previous"])
        assert_that(
            frames | beam.Map(lambda f: (f["track_id"], f["frame_index"], f[RAW_PREFIX + GENRES[0]])),
            equal_to(expected),
            label="Frames under the new ids",
        )
        assert_that(
            frames | "Columns" >> beam.Map(lambda f: sorted(f)),
            equal_to([sorted(schemas.FRAMES.names)] * len(expected)),
            label="Frame columns",
        )


def test_a_full_run_calls_every_file_new():
    from recogenre.analysis.catalogue_files import CatalogueEntry

    entry = CatalogueEntry("/music/a.wav", track_id_for("/music/a.wav"))
    row = new_file_changes(entry, RUN, "full run")
    assert set(row) == set(schemas.CHANGES.names)
    assert (row["path"], row["track_id"], row["change"]) == (entry.path, entry.track_id, "new")
    assert (row["run_id"], row["reason"], row["previous_path"]) == (RUN, "full run", None)
