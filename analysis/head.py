"""A user-trained classifier head: the user's own genres from a snapshot's stored features.

``recogenre train`` (``apps/training.py``) fits one on labelled tracks; ``recogenre run --head``
applies it, relabelling from stored features without decoding. This module is the file and
its use: :func:`load_head`, :meth:`Head.check_compatible`, :meth:`Head.predict`, :func:`save_head`.

The file (``HEAD_FORMAT`` 1) is a zip holding

- ``head.json``: the header -- format version, taxonomy (class names, in the order of
  ``user_scores``), parents (hierarchy), threshold, feature set + version + block widths,
  the CRNN weights' sha256, the label source and mapping rules, the CV report, and the
  sha256 of ``model.joblib``;
- ``model.joblib``: the fitted scikit-learn estimator (``joblib``, i.e. pickle: scikit-learn
  models have no other persistence format). Its sha256 is checked against the header
  before it is unpickled, so a damaged or truncated file is a one-line :class:`HeadError`,
  not a crash. **Unpickling runs code: load only heads you made or trust.**

Predictions (:meth:`Head.predict`), one row per track:

- ``user_genre``: the most probable class; below ``threshold`` the deepest parent level whose
  summed probability (its classes') reaches it, else ``unknown``; null for a track without
  features (silent);
- ``user_confidence``: the probability of the answer (of the best class when ``unknown``);
- ``user_scores``: every class's probability, a list in ``taxonomy`` order (the taxonomy
  is in the head and in the run's manifest), so the column's type is the same
  (``list<float64>``) whatever the head;
- ``user_parent``: the parent of ``user_genre`` in the hierarchy, null without one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from recogenre.analysis.head_features import FEATURE_VERSION, FeatureError, feature_matrix, missing_columns
from recogenre.analysis.outcomes import UsageError

HEAD_FORMAT = 1
HEADER = "head.json"
MODEL = "model.joblib"
UNKNOWN = "unknown"  # the answer below the threshold (as top_genre's, analysis/aggregate.py)
SEPARATOR = "/"  # between the levels of a hierarchical class name: "rock/punk"

# The columns ``predict`` returns, with their Arrow types (``run --head`` adds them to tracks).
PREDICTION_SCHEMA = pa.schema(
    [
        ("user_genre", pa.string()),
        ("user_confidence", pa.float64()),
        ("user_scores", pa.list_(pa.float64())),  # in Head.taxonomy order
        ("user_parent", pa.string()),
    ]
)


class HeadError(UsageError):
    """A head that cannot be used: unreadable, damaged, or made for other weights or features."""


def parent_of(name: str) -> str | None:
    """``rock/punk`` -> ``rock``; a top-level class has none."""
    return name.rsplit(SEPARATOR, 1)[0] if SEPARATOR in name else None


def ancestors(name: str) -> list[str]:
    """Nearest first: ``a/b/c`` -> ``[a/b, a]``."""
    out, parent = [], parent_of(name)
    while parent is not None:
        out.append(parent)
        parent = parent_of(parent)
    return out


@dataclass
class Head:
    taxonomy: list[str]
    threshold: float
    feature_set: str
    feature_widths: list[int]
    weights_sha256: str
    model: Any  # a fitted scikit-learn classifier with predict_proba; classes_ are 0..len(taxonomy)-1
    report: dict = field(default_factory=dict)
    feature_version: int = FEATURE_VERSION
    label_source: str = ""
    mapping: list[str] = field(default_factory=list)  # the label rules, as written
    created_at: str = ""
    path: str = ""  # where it was loaded from (for messages)

    @property
    def parents(self) -> dict[str, str]:
        """class -> parent, for the classes that have one (empty without a hierarchy)."""
        return {c: p for c in self.taxonomy if (p := parent_of(c)) is not None}

    @property
    def name(self) -> str:
        return os.path.basename(self.path) if self.path else "the head"

    def check_compatible(self, weights_sha256: str | None, columns: Iterable[str]) -> None:
        """Raises :class:`HeadError` unless the snapshot's features are the ones the head learnt from."""
        if self.feature_version != FEATURE_VERSION:
            raise HeadError(
                f"head {self.name} uses feature version {self.feature_version}, this recogenre computes "
                f"version {FEATURE_VERSION}: train it again (recogenre train)"
            )
        if weights_sha256 != self.weights_sha256:
            raise HeadError(
                f"head {self.name} was trained on features of other CRNN weights "
                f"(sha256 {self.weights_sha256[:12]}, this snapshot {str(weights_sha256)[:12]}): "
                "train a head on this snapshot (recogenre train)"
            )
        missing = missing_columns(self.feature_set, columns)
        if missing:
            raise HeadError(
                f"head {self.name} needs the column {', '.join(missing)} (feature set {self.feature_set}), "
                "which this snapshot lacks: run recogenre run --full with this version, or train another head"
            )

    def probabilities(self, tracks: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(P, valid)``: (n, classes) probabilities in taxonomy order (0 rows where not valid)."""
        try:
            X, valid, widths = feature_matrix(tracks, self.feature_set)
        except FeatureError as e:
            raise HeadError(f"head {self.name}: {e}") from None
        if widths != list(self.feature_widths) and valid.any():
            raise HeadError(
                f"head {self.name} was trained on feature blocks {self.feature_set} of widths "
                f"{self.feature_widths}, this snapshot's are {widths}: train it again (recogenre train)"
            )
        P = np.zeros((len(tracks), len(self.taxonomy)), np.float64)
        if valid.any():
            proba = self.model.predict_proba(X[valid])
            P[np.ix_(np.flatnonzero(valid), np.asarray(self.model.classes_, int))] = proba
        return P, valid

    def answers(self, P: np.ndarray) -> tuple[list[str], np.ndarray]:
        """The answer and its confidence for each row of probabilities (threshold and back-off applied)."""
        return answers(P, self.taxonomy, self.threshold)

    def predict(self, tracks: pd.DataFrame) -> pd.DataFrame:
        """``user_genre``, ``user_confidence``, ``user_scores``, ``user_parent`` for each row of
        ``tracks`` (same index); nulls for a track without features."""
        P, valid = self.probabilities(tracks)
        genre, confidence = self.answers(P)
        out = pd.DataFrame(index=tracks.index)
        out["user_genre"] = pd.Series([g if v else None for g, v in zip(genre, valid)], index=tracks.index,
                                      dtype=object)  # fmt: skip
        out["user_confidence"] = np.where(valid, confidence, np.nan)
        out["user_scores"] = pd.Series(
            [[float(p) for p in row] if v else None for row, v in zip(P, valid)],
            index=tracks.index,
            dtype=object,
        )
        out["user_parent"] = pd.Series(
            [parent_of(g) if v and g != UNKNOWN else None for g, v in zip(genre, valid)],
            index=tracks.index,
            dtype=object,
        )
        return out

    def header(self) -> dict[str, Any]:
        return {
            "format": "recogenre-head",
            "format_version": HEAD_FORMAT,
            "created_at": self.created_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "taxonomy": list(self.taxonomy),
            "parents": self.parents,
            "threshold": float(self.threshold),
            "feature_set": self.feature_set,
            "feature_version": self.feature_version,
            "feature_widths": list(self.feature_widths),
            "weights_sha256": self.weights_sha256,
            "label_source": self.label_source,
            "mapping": list(self.mapping),
            "report": self.report,
        }


def answers(P: np.ndarray, taxonomy: list[str], threshold: float) -> tuple[list[str], np.ndarray]:
    """Each row's class when its probability reaches ``threshold``; else the parent level (a class's
    ancestor, whose probability is the sum of its descendants') that reaches it -- the deepest,
    then the most probable -- else ``unknown``. With the answer's probability (the best
    class's for ``unknown``)."""
    best = P.argmax(axis=1) if len(taxonomy) else np.zeros(len(P), int)
    confidence = P[np.arange(len(P)), best].astype(np.float64)
    nodes = sorted({a for c in taxonomy for a in ancestors(c)}, key=lambda a: (-a.count(SEPARATOR), a))
    # a parent that is also a class counts its own tracks too
    members = {a: np.array([c == a or c.startswith(a + SEPARATOR) for c in taxonomy], bool) for a in nodes}
    genres = []
    for i, b in enumerate(best):
        if confidence[i] >= threshold:
            genres.append(taxonomy[b])
            continue
        reaching = [(a, float(P[i, members[a]].sum())) for a in nodes]
        reaching = [(a, m) for a, m in reaching if m >= threshold]
        if not reaching:
            genres.append(UNKNOWN)
            continue
        depth = max(a.count(SEPARATOR) for a, _ in reaching)
        answer, confidence[i] = max(
            (am for am in reaching if am[0].count(SEPARATOR) == depth), key=lambda am: am[1]
        )
        genres.append(answer)
    return genres, confidence


def save_head(head: Head, path: str) -> None:
    """Writes the head file atomically (a temporary file renamed over ``path``)."""
    import joblib

    buffer = io.BytesIO()
    joblib.dump(head.model, buffer)
    model_bytes = buffer.getvalue()
    header = head.header()
    header["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".head-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(HEADER, json.dumps(header, indent=1, allow_nan=False))
            z.writestr(MODEL, model_bytes)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_header(path: str) -> tuple[dict[str, Any], bytes]:
    """The header and the model's bytes, checked; :class:`HeadError` for anything else."""
    shown = os.path.basename(path)
    try:
        with zipfile.ZipFile(path) as z:
            header = json.loads(z.read(HEADER))
            model_bytes = z.read(MODEL)
    except FileNotFoundError:
        raise HeadError(f"head {path} does not exist") from None
    except IsADirectoryError:
        raise HeadError(f"head {path} is a folder, not a head file") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as e:
        kind = type(e).__name__
        raise HeadError(f"head {shown} is not a recogenre head file or is damaged ({kind})") from None
    if not isinstance(header, dict) or header.get("format") != "recogenre-head":
        raise HeadError(f"head {shown} is not a recogenre head file")
    if header.get("format_version") != HEAD_FORMAT:
        raise HeadError(
            f"head {shown} has format version {header.get('format_version')}, "
            f"this recogenre reads {HEAD_FORMAT}"
        )
    if hashlib.sha256(model_bytes).hexdigest() != header.get("model_sha256"):
        raise HeadError(f"head {shown} is damaged: its model does not match the checksum in its header")
    return header, model_bytes


def load_head(path: str | os.PathLike) -> Head:
    """The head in ``path``; :class:`HeadError` (one line) when it is missing, damaged or foreign.

    Unpickles the model after checking its sha256: load only heads you trust.
    """
    import joblib

    path = os.fspath(path)
    header, model_bytes = read_header(path)
    try:
        model = joblib.load(io.BytesIO(model_bytes))
        head = Head(
            taxonomy=[str(c) for c in header["taxonomy"]],
            threshold=float(header["threshold"]),
            feature_set=str(header["feature_set"]),
            feature_widths=[int(w) for w in header["feature_widths"]],
            weights_sha256=str(header["weights_sha256"]),
            model=model,
            report=header.get("report") or {},
            feature_version=int(header["feature_version"]),
            label_source=str(header.get("label_source", "")),
            mapping=list(header.get("mapping") or []),
            created_at=str(header.get("created_at", "")),
            path=path,
        )
    except Exception as e:  # a header missing fields, a model from another scikit-learn
        raise HeadError(f"head {os.path.basename(path)} cannot be loaded: {type(e).__name__}: {e}") from None
    classes = getattr(head.model, "classes_", ())
    if not hasattr(head.model, "predict_proba") or len(classes) > len(head.taxonomy):
        raise HeadError(f"head {os.path.basename(path)} holds no classifier for its taxonomy")
    return head
