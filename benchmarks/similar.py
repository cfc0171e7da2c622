"""Exact cosine search over a snapshot's embeddings: is numpy fast enough?

    .venv/bin/python benchmarks/similar.py [N_TRACKS ...]     (default 100000)

For each size writes a tracks table of N random 32-d float32 embeddings (10 % of
them null, like silent tracks) to a temporary folder and times what
``recogenre similar`` does with it (apps/similar.py's own functions): read the
Parquet and normalise the rows, then one query (matrix-vector product and
argpartition for the top 10). Prints figures; asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from recogenre.analysis.schemas import EMBEDDING
from recogenre.apps.similar import EMBEDDING_SIZE, nearest, read_library


def write_tracks(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1, 1, (n, EMBEDDING_SIZE)).astype(np.float32)
    embedding = pa.ListArray.from_arrays(
        pa.array(np.arange(0, n * EMBEDDING_SIZE + 1, EMBEDDING_SIZE, dtype=np.int32)),
        pa.array(values.ravel()),
        type=EMBEDDING,
        mask=pa.array(rng.random(n) < 0.1),
    )
    table = pa.table(
        {
            "track_id": [f"{i:016x}" for i in range(n)],
            "path": [f"/music/artist {i % 997}/track {i}.mp3" for i in range(n)],
            "top_genre": pa.array(["rock"] * n),
            "embedding": embedding,
        }
    )
    (folder / "tracks").mkdir(parents=True)
    pq.write_table(table, folder / "tracks" / "part-00000-of-00001.parquet", compression="zstd")


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def measure(n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        write_tracks(run, n)
        load_ms = best(lambda: read_library(str(run)), 3)
        library = read_library(str(run))
        queries = np.random.default_rng(1).uniform(-1, 1, (20, EMBEDDING_SIZE)).astype(np.float32)
        it = iter(range(10**9))
        query_ms = best(lambda: nearest(library.unit, queries[next(it) % 20], 10, exclude=0), 20)
        matmul_ms = best(lambda: library.unit @ queries[0], 20)
        batch_ms = best(lambda: np.argpartition(-(queries @ library.unit.T), 9, axis=1)[:, :10], 5)
        size_mb = sum(p.stat().st_size for p in (run / "tracks").iterdir()) / 1e6
    return (
        f"  {n:>9,} tracks ({len(library.unit):,} with embeddings, {size_mb:.1f} MB Parquet, "
        f"{library.unit.nbytes / 1e6:.1f} MB in memory): load + normalise {load_ms:.1f}, "
        f"one query {query_ms:.2f} (matmul {matmul_ms:.2f}), 20 queries at once {batch_ms:.1f}"
    )


def main(sizes: list[int]) -> None:
    print("exact cosine search, 32-d float32 embeddings (best of repeats, ms):")
    for n in sizes:
        print(measure(n), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000])
