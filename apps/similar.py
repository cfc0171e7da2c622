"""``recogenre similar``: the tracks of a snapshot that sound most like one track.

Each track's ``embedding`` (the mean of its frames' last-GRU outputs, see
``analysis/aggregate.py``) is compared by cosine similarity with every other
track's: exact search, one matrix product over the unit-length vectors and a
partial sort. ``benchmarks/similar.py`` measures it on 100,000 tracks (tens of
milliseconds, most of it reading the Parquet), so no approximate index is used:
one would pay off only for millions of tracks or thousands of queries per run
(docs/performance.md, "Similar-track search").

The query is a track of the snapshot (its ``track_id`` or its path, in any
spelling that resolves to the stored canonical path) or an audio file that is
not in it, which is classified on the spot with the same options as ``classify``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recogenre.analysis.crnn_layout import GRU_UNITS
from recogenre.analysis.logs import typed_error_text
from recogenre.analysis.outcomes import UsageError

EMBEDDING_SIZE = GRU_UNITS  # the last GRU layer's outputs
DEFAULT_K = 10


class SimilarError(UsageError):
    """A query that cannot be answered: one line for the user, exit status 2."""


@dataclass
class Library:
    """The snapshot's tracks that have an embedding, as unit vectors, plus every track's identity."""

    run_path: str
    run_id: str
    # Every track, silent ones included (a silent query gets its own message); Arrow arrays, so
    # that a library of a million tracks is not turned into Python strings (seconds) for one query.
    track_ids: pa.Array
    paths: pa.Array
    top_genres: pa.Array
    has_embedding: np.ndarray  # (n,) bool
    unit: np.ndarray  # (m, 32) float32, m = has_embedding.sum(): rows of unit length
    row_of: np.ndarray  # (n,) row in ``unit`` of each track, -1 without an embedding


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), float32: cosine = dot product."""
    vectors = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


def read_library(run_path: str) -> Library:
    """The tracks table of one run, read with pyarrow (columns it needs only)."""
    import pyarrow.dataset as ds

    run_id = Path(run_path).name
    folder = os.path.join(run_path, "tracks")
    if not os.path.isdir(folder):
        raise SimilarError(f"the snapshot {run_id} has no tracks table ({folder})")
    dataset = ds.dataset(folder, format="parquet")
    if "embedding" not in dataset.schema.names:
        if dataset.count_rows() == 0:
            raise SimilarError(f"the snapshot {run_id} holds no tracks")
        raise SimilarError(
            f"the snapshot {run_id} was made before recogenre stored embeddings: run `recogenre run` "
            "on the catalogue again (its next run classifies every track once and adds them)"
        )
    table = dataset.to_table(columns=["track_id", "path", "top_genre", "embedding"])
    if table.num_rows == 0:
        raise SimilarError(f"the snapshot {run_id} holds no tracks")
    column = table.column("embedding").combine_chunks()
    has = np.asarray(pc.is_valid(column), bool)
    if not has.any():
        raise SimilarError(f"no track of the snapshot {run_id} has an embedding (all are silent)")
    values = np.asarray(column.filter(pc.is_valid(column)).flatten(), np.float32)
    if values.size != int(has.sum()) * EMBEDDING_SIZE:
        raise SimilarError(f"the snapshot {run_id} holds embeddings not {EMBEDDING_SIZE} values long")
    row_of = np.full(len(has), -1, np.int64)
    row_of[has] = np.arange(int(has.sum()))
    return Library(
        run_path,
        run_id,
        table.column("track_id").combine_chunks(),
        table.column("path").combine_chunks(),
        table.column("top_genre").combine_chunks(),
        has,
        unit_rows(values.reshape(-1, EMBEDDING_SIZE)),
        row_of,
    )


def nearest(unit: np.ndarray, query: np.ndarray, k: int, exclude: int | None = None):
    """Rows of ``unit`` and cosine similarities of the ``k`` rows closest to ``query``, best first."""
    scores = unit @ unit_rows(query)
    if exclude is not None:
        scores[exclude] = -np.inf
    k = min(k, len(scores) - (exclude is not None))
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]


@dataclass
class Query:
    path: str
    track_id: str | None  # None: classified now, not in the snapshot
    top_genre: str | None
    embedding: np.ndarray
    row: int | None  # its row in Library.unit, excluded from the answer


def _path_spellings(name: str) -> list[str]:
    """The stored forms a path argument may have: as typed (its raw bytes in the documented escaping
    of ``analysis/paths.py``, or the stored form itself, copied from an output), canonical file,
    fully resolved."""
    from recogenre.analysis.paths import canonical_file, canonical_root, from_os_path

    spellings = [from_os_path(name)]
    if _is_text(name):  # a name with undecodable bytes arrives surrogate-escaped: never stored as is
        spellings.append(name)
    with contextlib.suppress(OSError, ValueError):
        spellings += [canonical_file(name), canonical_root(name)]
    return list(dict.fromkeys(spellings))


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_query(library: Library, name: str, classify: Callable[[str], object]) -> Query:
    """TRACK as a track_id, a stored path, or an audio file to classify now.

    ``name`` comes from the command line: a file name that is not UTF-8 arrives with surrogate
    escapes, which Arrow cannot compare; it is matched by its stored (escaped) form.
    """
    from recogenre.analysis.paths import from_os_path

    shown = from_os_path(name)  # valid UTF-8 whatever the bytes: for lookups and messages
    index = pc.index(library.track_ids, shown).as_py()
    for spelling in _path_spellings(name):
        if index < 0:
            index = pc.index(library.paths, spelling).as_py()
    if index >= 0:
        path = library.paths[index].as_py()
        if not library.has_embedding[index]:
            raise SimilarError(f"{path} is silent in the snapshot {library.run_id}: it has no embedding")
        row = int(library.row_of[index])
        track_id, top_genre = library.track_ids[index].as_py(), library.top_genres[index].as_py()
        return Query(path, track_id, top_genre, library.unit[row], row)
    if not os.path.lexists(name):
        raise SimilarError(
            f"{shown}: not a track_id or path of the snapshot {library.run_id}, and no such file to classify"
        )
    result = classify(name)
    vector = result.vector
    if vector.embedding is None:
        raise SimilarError(f"{shown} is silent: it has no embedding")
    return Query(result.path, None, vector.top_genre, vector.embedding, None)


def similar(library: Library, query: Query, k: int) -> list[dict]:
    rows, scores = nearest(library.unit, query.embedding, k, query.row)
    track_of = np.flatnonzero(library.has_embedding)
    return [
        {
            "rank": rank,
            "score": float(score),
            "track_id": library.track_ids[t].as_py(),
            "path": library.paths[t].as_py(),
            "top_genre": library.top_genres[t].as_py(),
        }
        for rank, (t, score) in enumerate(zip(track_of[rows], scores), start=1)
    ]


def format_text(library: Library, query: Query, results: list[dict]) -> str:
    from recogenre.analysis.paths import printable

    where = f"track {query.track_id}" if query.track_id else "classified now, not in the snapshot"
    head = f"most similar to {printable(query.path)} ({query.top_genre}; {where}) in {library.run_id}:"
    lines = [f"{r['rank']:4d}  {r['score']:.4f}  {printable(r['path'])}  ({r['top_genre']})" for r in results]
    return "\n".join([head, *lines] if lines else [head, "  no other track has an embedding"])


def to_json(library: Library, query: Query, results: list[dict]) -> dict:
    return {
        "run_id": library.run_id,
        "query": {
            "path": query.path,
            "track_id": query.track_id,
            "top_genre": query.top_genre,
            "in_snapshot": query.track_id is not None,
        },
        "results": results,
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("output", metavar="OUT", help="output folder of `recogenre run` (reads OUT/latest)")
    p.add_argument(
        "track",
        metavar="TRACK",
        help="a track_id or path in the snapshot, or an audio file not in it (classified now)",
    )
    p.add_argument(
        "-k", type=int, default=DEFAULT_K, metavar="K", help=f"how many tracks (default {DEFAULT_K})"
    )
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.add_argument("--run", metavar="RUN_ID", help="search OUT/runs/RUN_ID instead of OUT/latest")


def classifier(args: argparse.Namespace, load_model: Callable[[], object]) -> Callable[[str], object]:
    """``classify(name) -> TrackResult`` with ``classify``'s options; the model loads on first use."""

    def classify(name: str):
        from recogenre.analysis.classifier import classify_file
        from recogenre.analysis.decode import AudioError
        from recogenre.analysis.limits import DecodeLimits
        from recogenre.analysis.paths import from_os_path

        path = from_os_path(name)
        model = load_model()
        try:
            limits = DecodeLimits.from_hours(args.max_duration)
            return classify_file(path, model, trim_seconds=args.trim_seconds, limits=limits)
        except AudioError as e:
            raise SimilarError(f"{path}: {e}") from None
        except Exception as e:  # a file the decoder chokes on is still one line, never a traceback
            raise SimilarError(f"{path}: {typed_error_text(e)}") from None

    return classify


def main(args: argparse.Namespace, load_model: Callable[[], object]) -> int:
    """``load_model()`` gives the classifier's Model; it is called only for a query not in the snapshot."""
    from recogenre.apps.run_lookup import run_to_read

    if args.k < 1:
        raise UsageError(f"similar: -k must be 1 or more, not {args.k}")
    run_path = run_to_read(args.output, args.run, "similar", "snapshot to search")
    library = read_library(run_path)  # SimilarError (a UsageError) for what cannot be searched
    query = find_query(library, args.track, classifier(args, load_model))
    results = similar(library, query, args.k)
    if args.json:
        print(json.dumps(to_json(library, query, results)), flush=True)
    else:
        print(format_text(library, query, results), flush=True)
    return 0
