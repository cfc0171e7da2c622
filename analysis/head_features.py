"""The features a user-trained classifier head reads: named blocks of tracks-table columns.

A head (``analysis/head.py``) never decodes audio: it reads what a run already stored per
track. A *feature set* is one or more named blocks joined by ``+`` (``embedding+scores``);
each block is a function of the tracks table's columns. ``FEATURE_VERSION`` is the version
of these definitions: a head records it and the blocks' widths, and is refused on a
snapshot whose columns, or whose code's definitions, differ (one line, a ``HeadError``).

Blocks:

- ``embedding``: the track's mean frame embedding (the last GRU layer, 32 values).
- ``scores``: the ten GTZAN genre shares as log-shares (``log(share + 1e-3)``): shares are
  fractions that sum to 1, so their logs spread the small values the head must tell apart.
- ``rhythm``: the rhythm descriptors of the ``rhythm`` column (tempo and tempogram summary,
  computed during decode; ``analysis/rhythm.py`` defines them), when the snapshot has it.
- ``embedding_std``: the spread of the frame embeddings (``embedding_std`` column), when
  the snapshot has it.

The default set is the one the CV comparison in ``benchmarks/head_features.py`` chose
(docs: "Training a head", feature comparison); a block whose column is missing in a
snapshot is skipped by ``available_sets`` and refused when asked for by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recogenre.analysis.genres import GENRES
from recogenre.analysis.train_defaults import DEFAULT_FEATURE_SET

FEATURE_VERSION = 1
SHARE_FLOOR = 1e-3  # log(share + floor): a share of 0 is 1000x below a full vote, not -inf


@dataclass(frozen=True)
class Block:
    name: str
    columns: tuple[str, ...]  # tracks-table columns it reads
    read: Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]  # -> (n, d) float64, (n,) valid
    doc: str


def _list_column(column: str) -> Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]:
    """A list<float> column as an (n, d) matrix; rows with a null or a different length are invalid."""

    def read(tracks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        values = list(tracks[column])
        lengths = [len(v) if _is_vector(v) else -1 for v in values]
        present = [n for n in lengths if n > 0]
        width = max(set(present), key=present.count) if present else 0
        valid = np.array([n == width and width > 0 for n in lengths], bool)
        matrix = np.zeros((len(values), width), np.float64)
        for i in np.flatnonzero(valid):
            matrix[i] = np.asarray(values[i], np.float64)
        valid &= np.isfinite(matrix).all(axis=1)
        return matrix, valid

    return read


def _is_vector(value) -> bool:
    return isinstance(value, list | tuple | np.ndarray) and len(value) > 0


def _log_shares(tracks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    shares = tracks[list(GENRES)].to_numpy(np.float64, na_value=np.nan)
    valid = np.isfinite(shares).all(axis=1)
    return np.log(np.where(valid[:, None], shares, 0.0) + SHARE_FLOOR), valid


BLOCKS: dict[str, Block] = {
    b.name: b
    for b in (
        Block("embedding", ("embedding",), _list_column("embedding"), "mean frame embedding (32)"),
        Block("scores", GENRES, _log_shares, "log of the ten genre shares (10)"),
        Block("rhythm", ("rhythm",), _list_column("rhythm"), "rhythm descriptors (analysis/rhythm.py)"),
        Block("embedding_std", ("embedding_std",), _list_column("embedding_std"), "frame embeddings' spread"),
    )
}
# Blocks added to the default automatically when the snapshot has their column.
OPTIONAL_DEFAULT_BLOCKS = ("rhythm",)


class FeatureError(ValueError):
    """A feature set that is not defined, or whose columns a snapshot lacks."""


def blocks_of(feature_set: str) -> list[Block]:
    names = [n.strip() for n in feature_set.split("+") if n.strip()]
    unknown = [n for n in names if n not in BLOCKS]
    if unknown or not names:
        raise FeatureError(
            f"unknown feature set {feature_set!r}: use blocks joined by + from {', '.join(BLOCKS)}"
        )
    if len(set(names)) != len(names):
        raise FeatureError(f"feature set {feature_set!r} names a block twice")
    return [BLOCKS[n] for n in names]


def columns_needed(feature_set: str) -> list[str]:
    return [c for b in blocks_of(feature_set) for c in b.columns]


def missing_columns(feature_set: str, columns: Iterable[str]) -> list[str]:
    have = set(columns)
    return [c for c in columns_needed(feature_set) if c not in have]


def default_feature_set(columns: Iterable[str]) -> str:
    """The measured default, plus the optional blocks (rhythm) a snapshot has columns for."""
    have = set(columns)
    extra = [b for b in OPTIONAL_DEFAULT_BLOCKS if set(BLOCKS[b].columns) <= have]
    return "+".join([DEFAULT_FEATURE_SET, *extra])


def feature_matrix(tracks: pd.DataFrame, feature_set: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(X, valid, widths)``: one row per track (float64), which rows have every block, and each
    block's width. Raises :class:`FeatureError` when a needed column is missing."""
    missing = missing_columns(feature_set, tracks.columns)
    if missing:
        raise FeatureError(f"the snapshot has no column {', '.join(missing)} (feature set {feature_set})")
    parts, widths = [], []
    valid = np.ones(len(tracks), bool)
    for block in blocks_of(feature_set):
        matrix, ok = block.read(tracks)
        parts.append(matrix)
        widths.append(matrix.shape[1])
        valid &= ok
    return np.concatenate(parts, axis=1), valid, widths
