"""``recogenre train``: a classifier head for the user's own genres, learnt from a snapshot.

It reads the snapshot's tracks table (no audio is decoded), takes labels from a label
source (``apps/label_sources.py``), cleans them (``analysis/label_rules.py``), and fits a
head (``analysis/head.py``) on named feature blocks (``analysis/head_features.py``):
the estimators of ``analysis/head_models.py`` (standardised features, logistic regression
with balanced class weights or a one-hidden-layer MLP, probabilities calibrated by
temperature scaling: one factor fitted on held-out predictions, so the ranking, and hence
accuracy, is unchanged while a confidence of 0.8 comes to mean about 80 % right).

Evaluation is cross-validated and grouped (``StratifiedGroupKFold``): no album -- the
album tags when the snapshot has them, else the file's folder -- is on both sides of a
fold, since tracks of one album share production and would flatter the score. The
calibration's own inner folds are grouped the same way. The report
(:func:`cv_report`) is written into the head and beside it (``HEAD.report.json``), and
printed (:func:`report_text`).

The abstain threshold (:func:`choose_threshold`): the lowest confidence (steps of 0.05)
at which the cross-validated accuracy of the tracks the head answers reaches the target
accuracy (default 0.8), as long as it still answers at least 10 % of them; when no
threshold does, 0 (every track gets a class) and the report says so. ``threshold=``
sets it by hand. With hierarchical labels "answers" include the parent levels a track
backs off to below the threshold (right when the parent is an ancestor of its label).
"""

from __future__ import annotations

import itertools
import json
import os
import posixpath
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recogenre.analysis.head import SEPARATOR, UNKNOWN, Head, answers, save_head
from recogenre.analysis.head_features import (
    FEATURE_VERSION,
    FeatureError,
    default_feature_set,
    feature_matrix,
)
from recogenre.analysis.head_models import (
    classes_missing_from_training,
    fit_quietly,
    grouped_splits,
    make_model,
)
from recogenre.analysis.label_rules import (
    MappingError,
    Rule,
    apply_minimum,
    clean_values,
    parse_mapping,
    spelling,
)
from recogenre.analysis.outcomes import UsageError
from recogenre.analysis.paths import printable
from recogenre.analysis.train_defaults import (
    CALIBRATIONS,
    DEFAULT_CALIBRATION,
    DEFAULT_FOLDS,
    DEFAULT_MIN_TRACKS,
    DEFAULT_MODEL,
    DEFAULT_TARGET_ACCURACY,
    MODELS,
)
from recogenre.apps.label_sources import LabelSet, match_tracks, read_labels

MIN_COVERAGE = 0.10  # a threshold answering fewer tracks than this is not chosen
THRESHOLD_STEP = 0.05
CHECK_LABELS = 15  # "check these labels": how many
UNMATCHED_LISTED = 20  # labelled paths not in the snapshot: how many are named
REPORT_SUFFIX = ".report.json"


class TrainError(UsageError):
    """Training cannot start or cannot give a head: one line, exit status 2, no head written."""


@dataclass
class Options:
    labels: str
    mapping: str | None = None
    ignore: Sequence[str] = ()
    min_tracks: int = DEFAULT_MIN_TRACKS
    model: str = DEFAULT_MODEL
    calibration: str = DEFAULT_CALIBRATION
    features: str | None = None  # None: the measured default (head_features.default_feature_set)
    folds: int = DEFAULT_FOLDS
    threshold: float | None = None  # None: chosen by choose_threshold
    target_accuracy: float = DEFAULT_TARGET_ACCURACY
    seed: int = 0


@dataclass
class TrainResult:
    """What ``train`` made: the head (already written), its report, and where both are."""

    head: Head
    head_path: str
    report_path: str
    report: dict

    @property
    def balanced_accuracy(self) -> float:
        return self.report["cv"]["balanced_accuracy"]

    def __repr__(self) -> str:
        cv = self.report["cv"]
        return (
            f"TrainResult({len(self.head.taxonomy)} classes, "
            f"CV balanced accuracy {cv['balanced_accuracy']:.3f}, "
            f"threshold {self.head.threshold:.2f}; {self.head_path})"
        )


# ---- data ----------------------------------------------------------------------------------------------


def read_tracks(run_path: str) -> pd.DataFrame:
    """Every column the run wrote (new columns -- rhythm, tags -- included), without a fixed schema."""
    import pyarrow.dataset as ds

    folder = os.path.join(run_path, "tracks")
    if not os.path.isdir(folder):
        raise TrainError(f"train: the snapshot {os.path.basename(run_path)} has no tracks table")
    return ds.dataset(folder, format="parquet").to_table().to_pandas()


def album_groups(tracks: pd.DataFrame) -> tuple[np.ndarray, str]:
    """One group per album: ``albumartist``/``artist`` + ``album`` tags where the snapshot has them,
    else (and for tracks without an album tag) the file's folder."""
    folders = np.array([posixpath.dirname(p) for p in tracks["path"]], dtype=object)
    if "album" not in tracks.columns:
        return folders, "album folder"
    artist = tracks["albumartist"] if "albumartist" in tracks.columns else None
    if artist is None and "artist" in tracks.columns:
        artist = tracks["artist"]
    groups = folders.copy()
    for i, album in enumerate(tracks["album"]):
        if isinstance(album, str) and album.strip():
            who = artist.iloc[i] if artist is not None else None
            groups[i] = f"tag:{who if isinstance(who, str) else ''}\0{album.strip()}"
    return groups, "album tag (album folder where untagged)"


# ---- model ---------------------------------------------------------------------------------------------


def out_of_fold(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, splits, n_classes: int, opts: Options
) -> np.ndarray:
    """Each track's class probabilities from the fold that held it out."""
    P = np.zeros((len(y), n_classes))
    for train, test in splits:
        model = make_model(opts.model, opts.calibration, y[train], groups[train], opts.seed)
        fit_quietly(model, X[train], y[train])
        P[np.ix_(test, np.asarray(model.classes_, int))] = model.predict_proba(X[test])
    return P


# ---- evaluation ----------------------------------------------------------------------------------------


def expected_calibration_error(P: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[float, list[dict]]:
    """ECE of the top class's probability, and the reliability table it is summed from."""
    confidence = P.max(axis=1)
    correct = P.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    table, ece = [], 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (confidence >= lo) & ((confidence < hi) | (hi == 1.0))
        if not inside.any():
            continue
        acc, conf = float(correct[inside].mean()), float(confidence[inside].mean())
        ece += inside.mean() * abs(acc - conf)
        table.append({"from": round(lo, 2), "to": round(hi, 2), "tracks": int(inside.sum()),
                      "confidence": conf, "accuracy": acc})  # fmt: skip
    return float(ece), table


def coverage_table(P: np.ndarray, y: np.ndarray, taxonomy: list[str]) -> list[dict]:
    """For each threshold, what the head would answer in CV (``analysis/head.answers``: the class, a
    parent level, or unknown): the share of tracks answered, how many as a parent, and the accuracy
    of the answers (a parent is right when it is an ancestor of the label)."""
    truth = [taxonomy[c] for c in y]
    rows = []
    for t in np.round(np.arange(0, 1, THRESHOLD_STEP), 2):
        genres, _ = answers(P, taxonomy, float(t))
        answered = [(g, label) for g, label in zip(genres, truth) if g != UNKNOWN]
        right = sum(g == label or label.startswith(g + SEPARATOR) for g, label in answered)
        rows.append({
            "threshold": float(t),
            "coverage": len(answered) / len(truth),
            "tracks": len(answered),
            "as_parent": sum(g not in taxonomy for g, _ in answered),
            "accuracy": right / len(answered) if answered else None,
        })  # fmt: skip
    return rows


def choose_threshold(coverage: list[dict], target: float) -> tuple[float, str]:
    """The lowest threshold whose covered accuracy reaches ``target`` with >= MIN_COVERAGE answered."""
    for row in coverage:
        if row["accuracy"] is not None and row["coverage"] >= MIN_COVERAGE and row["accuracy"] >= target:
            return row["threshold"], (
                f"lowest threshold whose CV accuracy on the tracks answered reaches {target:.2f}"
            )
    return 0.0, (
        f"no threshold reaches a CV accuracy of {target:.2f} on at least {MIN_COVERAGE:.0%} of the tracks: "
        "0, every track gets a class (set one with --threshold)"
    )


def cv_report(P: np.ndarray, y: np.ndarray, taxonomy: list[str], paths: Sequence[str], folds: int,
              grouped_by: str, groups: np.ndarray) -> dict:  # fmt: skip
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    predicted = P.argmax(axis=1)
    labels = list(range(len(taxonomy)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0
    )
    matrix = confusion_matrix(y, predicted, labels=labels)
    counts = np.bincount(y, minlength=len(taxonomy))
    majority = int(counts.argmax())
    pairs = [
        {"label": taxonomy[i], "predicted": taxonomy[j], "tracks": int(matrix[i, j])}
        for i in labels
        for j in labels
        if i != j and matrix[i, j] > 0
    ]
    pairs.sort(key=lambda p: -p["tracks"])
    ece, reliability = expected_calibration_error(P, y)
    p_label = P[np.arange(len(y)), y]
    doubtful = [i for i in np.argsort(p_label, kind="stable") if predicted[i] != y[i]][:CHECK_LABELS]
    one_group = [
        taxonomy[c] for c in labels if len(set(groups[y == c])) < 2
    ]  # never tested on an album it has not seen: its CV score says nothing
    return {
        "folds": folds,
        "grouped_by": grouped_by,
        "tracks": len(y),
        "accuracy": float(accuracy_score(y, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
        "majority_class": taxonomy[majority],
        "majority_accuracy": float(counts[majority] / len(y)),
        "majority_balanced_accuracy": 1.0 / len(taxonomy),
        "per_class": [
            {
                "class": taxonomy[c],
                "precision": float(precision[c]),
                "recall": float(recall[c]),
                "f1": float(f1[c]),
                "tracks": int(support[c]),
            }
            for c in labels
        ],
        "confusion": {"classes": list(taxonomy), "matrix": matrix.tolist()},
        "most_confused": pairs[:10],
        "ece": ece,
        "reliability": reliability,
        "coverage": coverage_table(P, y, taxonomy),
        "classes_in_one_album": one_group,
        "check_labels": [
            {
                "path": paths[i],
                "label": taxonomy[y[i]],
                "predicted": taxonomy[predicted[i]],
                "p_predicted": float(P[i, predicted[i]]),
                "p_label": float(p_label[i]),
            }
            for i in doubtful
        ],
    }


# ---- the command's work ----------------------------------------------------------------------------------


def _rules(opts: Options) -> list[Rule]:
    if not opts.mapping:
        return []
    try:
        with open(opts.mapping, encoding="utf-8") as f:
            text = f.read()
        return parse_mapping(text, os.path.basename(opts.mapping))
    except OSError as e:
        raise TrainError(f"train: cannot read mapping file {opts.mapping}: {e.strerror}") from None
    except (MappingError, UnicodeDecodeError) as e:
        raise TrainError(f"train: {e}") from None


def check_options(opts: Options) -> None:
    if opts.model not in MODELS:
        raise TrainError(f"train: --model {opts.model}: one of {', '.join(MODELS)}")
    if opts.calibration not in CALIBRATIONS:
        raise TrainError(f"train: --calibration {opts.calibration}: one of {', '.join(CALIBRATIONS)}")
    if opts.min_tracks < 2:
        raise TrainError(f"train: --min-tracks must be 2 or more, not {opts.min_tracks}")
    if opts.folds < 2:
        raise TrainError(f"train: --folds must be 2 or more, not {opts.folds}")
    if opts.threshold is not None and not 0 <= opts.threshold <= 1:
        raise TrainError(f"train: --threshold must be between 0 and 1, not {opts.threshold}")
    if not 0 < opts.target_accuracy <= 1:
        raise TrainError(
            f"train: --target-accuracy must be above 0 and at most 1, not {opts.target_accuracy}"
        )


def _check_head_path(head_path: str) -> None:
    folder = os.path.dirname(os.path.abspath(head_path))
    if os.path.isdir(head_path):
        raise TrainError(f"train: --head {head_path} is a folder; give a file name (e.g. my.head)")
    if not os.path.isdir(folder):
        raise TrainError(f"train: --head {head_path}: its folder {folder} does not exist")


@dataclass
class Prepared:
    """The labelled tracks ready for fitting, and what the label steps did (for the report)."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    paths: list[str]
    taxonomy: list[str]
    feature_set: str
    widths: list[int]
    grouped_by: str
    labels_report: dict
    stats: list[dict]


def prepare(tracks: pd.DataFrame, label_set: LabelSet, opts: Options) -> Prepared:
    """Labels matched, cleaned and counted; features read. TrainError for every refusal."""
    rules = _rules(opts)
    matched = match_tracks(label_set, list(tracks["path"]))
    unmatched = matched.unmatched
    labels_report = {
        "source": label_set.source,
        "kind": label_set.kind,
        "notes": list(label_set.notes),
        "labelled_paths": len({i.path for i in label_set.items}),
        "in_snapshot": len(matched.paths),
        "origins": dict(Counter(matched.origins)),  # where the matched labels were read: tag field, column
        "not_in_snapshot": len(unmatched),
        "not_in_snapshot_paths": unmatched[:UNMATCHED_LISTED],
        "mapping": [r.text for r in rules],
        "ignore": list(opts.ignore),
    }
    if not label_set.items:
        raise TrainError(f"train: no labels found in {label_set.source} ({'; '.join(label_set.notes)})")
    if not matched.paths:
        shown = ", ".join(unmatched[:3])
        raise TrainError(
            f"train: none of the {len(unmatched)} labelled paths of {label_set.source} is a track of the "
            f"snapshot (e.g. {shown})"
        )
    cleaned = [clean_values(v, rules, opts.ignore) for v in matched.values]
    renamed = Counter(
        (raw, c.label) for v, c in zip(matched.values, cleaned) for raw in v[:1] if c.label and raw != c.label
    )
    dropped = sum(c.label is None for c in cleaned)
    minimum = apply_minimum([c.label for c in cleaned], opts.min_tracks)
    labels_report.update({
        "renamed": [{"from": a, "to": b, "tracks": n} for (a, b), n in renamed.most_common(30)],
        "dropped_by_rules": dropped,
        "backed_off": minimum.backed_off,
        "left_out": minimum.left_out,
        "min_tracks": opts.min_tracks,
    })  # fmt: skip
    index = {p: i for i, p in enumerate(tracks["path"])}
    rows = [index[p] for p, lab in zip(matched.paths, minimum.labels) if lab is not None]
    spell = spelling(((raw, c.label) for v, c in zip(matched.values, cleaned) for raw in v if c.label), rules)
    y_names = [spell(lab) for lab in minimum.labels if lab is not None]  # in the library's own spelling
    taxonomy = sorted(set(y_names))
    kept_tracks = tracks.iloc[rows].reset_index(drop=True)
    groups, grouped_by = album_groups(kept_tracks)
    stats = _stats(
        y_names,
        groups,
        {spell(c): n for c, n in minimum.left_out.items()},
        {spell(c): spell(parent) for c, parent in minimum.backed_off.items()},
    )
    if not taxonomy:
        if minimum.left_out:
            raise TrainError(
                f"train: every class has fewer than {opts.min_tracks} tracks (--min-tracks): "
                + _some(f"{c} {n}" for c, n in minimum.left_out.items())
            )
        raise TrainError(f"train: no labels left after the mapping and ignore rules ({dropped} dropped)")
    if len(taxonomy) < 2:
        raise TrainError(
            f"train: only one class ({taxonomy[0]}, {len(y_names)} tracks) after cleaning: "
            "a head needs two or more"
            + (f"; left out under --min-tracks: {_some(minimum.left_out)}" if minimum.left_out else "")
        )
    feature_set = opts.features or default_feature_set(tracks.columns)
    try:
        X, valid, widths = feature_matrix(kept_tracks, feature_set)
    except FeatureError as e:
        raise TrainError(f"train: {e}") from None
    labels_report["without_features"] = int((~valid).sum())
    y_all = np.array([taxonomy.index(n) for n in y_names])
    X, y, groups = X[valid], y_all[valid], groups[valid]
    paths = [p for p, v in zip(kept_tracks["path"], valid) if v]
    present = sorted(set(y))
    if len(present) < 2:
        raise TrainError("train: fewer than two classes have tracks with features (the others are silent)")
    if len(set(groups)) < 2:
        raise TrainError(
            f"train: every labelled track is in one album ({grouped_by}): grouped cross-validation needs two"
        )
    return Prepared(X, y, groups, paths, taxonomy, feature_set, widths, grouped_by, labels_report, stats)


def _some(items, shown: int = 8) -> str:
    items = list(items)
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _stats(names: list[str], groups: np.ndarray, left_out: dict, backed_off: dict) -> list[dict]:
    rows = []
    for c, n in sorted(Counter(names).items(), key=lambda kv: (-kv[1], kv[0])):
        albums = len({g for g, name in zip(groups, names) if name == c})
        joined = sorted(k for k, parent in backed_off.items() if parent == c)
        note = f"includes {', '.join(joined)} (too small)" if joined else ""
        rows.append({"class": c, "tracks": n, "albums": albums, "note": note})
    for c, n in left_out.items():
        rows.append({"class": c, "tracks": n, "albums": None, "note": "left out: under --min-tracks"})
    return rows


def stats_text(prepared: Prepared) -> str:
    r = prepared.labels_report
    lines = [f"labels from {r['source']}: " + "; ".join(r["notes"])]
    lines.append(
        f"  {r['in_snapshot']} labelled tracks in the snapshot, "
        f"{r['not_in_snapshot']} labelled paths not in it"
    )
    for p in r["not_in_snapshot_paths"]:
        lines.append(f"    not in the snapshot: {printable(p)}")
    if r["not_in_snapshot"] > len(r["not_in_snapshot_paths"]):
        lines.append(f"    ... and {r['not_in_snapshot'] - len(r['not_in_snapshot_paths'])} more")
    if r["mapping"]:
        lines.append(f"  mapping: {len(r['mapping'])} rules; ignore: {', '.join(r['ignore']) or 'none'}")
    if r["renamed"]:
        shown = ", ".join(f"{x['from']!r} -> {x['to']} ({x['tracks']})" for x in r["renamed"][:8])
        lines.append(f"  cleaned: {shown}")
    if r["dropped_by_rules"]:
        lines.append(
            f"  {r['dropped_by_rules']} tracks lost their label to the rules (ignored, dropped or empty)"
        )
    if r.get("without_features"):
        lines.append(f"  {r['without_features']} labelled tracks have no features (silent): not used")
    width = max([len("class"), *(len(s["class"]) for s in prepared.stats)])
    lines.append(f"  {'class':<{width}}  tracks  albums  note")
    for s in prepared.stats:
        albums = "" if s["albums"] is None else str(s["albums"])
        lines.append(f"  {s['class']:<{width}}  {s['tracks']:>6}  {albums:>6}  {s['note']}".rstrip())
    return "\n".join(lines)


def train(
    run_path: str,
    head_path: str,
    opts: Options,
    weights_sha256: str,
    on_stats: Callable[[str], None] | None = None,
    results_version: str | None = None,
) -> TrainResult:
    """Fits, evaluates and writes the head and its report; nothing is written on a TrainError."""
    check_options(opts)
    _check_head_path(head_path)
    _rules(opts)  # a bad mapping file is said before anything is read
    tracks = read_tracks(run_path)
    if tracks.empty:
        raise TrainError(f"train: the snapshot {os.path.basename(run_path)} holds no tracks")
    label_set = read_labels(opts.labels, tracks)
    prepared = prepare(tracks, label_set, opts)
    if on_stats is not None:
        on_stats(stats_text(prepared))
    X, y, groups = prepared.X, prepared.y, prepared.groups
    splits = grouped_splits(y, groups, opts.folds, opts.seed)
    missing = classes_missing_from_training(y, splits)
    if missing:
        names = ", ".join(prepared.taxonomy[int(c)] if c.isdigit() else c for c in missing)
        raise TrainError(
            f"train: cannot cross-validate: a fold holds every album of {names} "
            f"({len(set(groups))} albums in {len(splits)} folds); "
            "label more albums per class or use fewer --folds"
        )
    P = out_of_fold(X, y, groups, splits, len(prepared.taxonomy), opts)
    cv = cv_report(P, y, prepared.taxonomy, prepared.paths, len(splits), prepared.grouped_by, groups)
    if opts.threshold is None:
        threshold, rule = choose_threshold(cv["coverage"], opts.target_accuracy)
    else:
        threshold, rule = float(opts.threshold), "set with --threshold"
    hierarchy = _hierarchy_outcome(P, y, prepared.taxonomy, threshold)
    model = make_model(opts.model, opts.calibration, y, groups, opts.seed)
    fit_quietly(model, X, y)
    report = {
        "snapshot": {
            "run_id": os.path.basename(run_path),
            "path": run_path,
            "weights_sha256": weights_sha256,
        },
        "labels": prepared.labels_report,
        "classes": prepared.stats,
        "features": {"set": prepared.feature_set, "version": FEATURE_VERSION, "widths": prepared.widths},
        "model": {"kind": opts.model, "calibration": opts.calibration, "seed": opts.seed},
        "cv": cv,
        "threshold": {"value": threshold, "rule": rule, "target_accuracy": opts.target_accuracy, **hierarchy},
    }
    head = Head(
        taxonomy=prepared.taxonomy,
        threshold=threshold,
        feature_set=prepared.feature_set,
        feature_widths=prepared.widths,
        weights_sha256=weights_sha256,
        model=model,
        report=report,
        label_source=opts.labels,
        mapping=[*prepared.labels_report["mapping"], *(f"ignore {p}" for p in opts.ignore)],
    )
    save_head(head, head_path)
    report_path = head_path + REPORT_SUFFIX
    with open(report_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    head.path = head_path
    return TrainResult(head, head_path, report_path, report)


def _hierarchy_outcome(P: np.ndarray, y: np.ndarray, taxonomy: list[str], threshold: float) -> dict:
    """What the chosen threshold does in CV, back-off to parents included: how many tracks get
    their class, a parent (right when it is an ancestor of the label), or unknown."""
    genres, _ = answers(P, taxonomy, threshold)
    truth = [taxonomy[c] for c in y]
    leaf = sum(g in taxonomy for g in genres)
    parent = [(g, t) for g, t in zip(genres, truth) if g not in taxonomy and g != "unknown"]
    covered = [g == t for g, t in zip(genres, truth) if g in taxonomy]
    return {
        "answered_class": leaf,
        "answered_class_accuracy": float(np.mean(covered)) if covered else None,
        "answered_parent": len(parent),
        "answered_parent_right": sum(t.startswith(g + "/") for g, t in parent),
        "unknown": sum(g == "unknown" for g in genres),
    }


def report_text(result: TrainResult) -> str:
    """The readable page of the report (what the command prints after training)."""
    r = result.report
    cv = r["cv"]
    t = r["threshold"]
    taxonomy = result.head.taxonomy
    lines = [
        f"head: {len(taxonomy)} classes from {r['labels']['source']}, features {r['features']['set']}, "
        f"{r['model']['kind']} ({r['model']['calibration']} calibration)",
        f"cross-validation: {cv['folds']} folds grouped by {cv['grouped_by']}, {cv['tracks']} tracks",
        f"  accuracy           {cv['accuracy']:.3f}   (majority class {cv['majority_class']}: "
        f"{cv['majority_accuracy']:.3f})",
        f"  balanced accuracy  {cv['balanced_accuracy']:.3f}   (majority class / chance: "
        f"{cv['majority_balanced_accuracy']:.3f})",
        f"  calibration error (ECE) {cv['ece']:.3f}",
    ]
    if cv["classes_in_one_album"]:
        lines.append(
            f"  warning: all tracks of {', '.join(cv['classes_in_one_album'])} are in one album: "
            "CV never tests them on an album the head saw them in, so their scores say little"
        )
    width = max(len("class"), *(len(c) for c in taxonomy))
    lines.append(f"  {'class':<{width}}  precision  recall     f1  tracks")
    for row in cv["per_class"]:
        lines.append(
            f"  {row['class']:<{width}}  {row['precision']:9.2f}  {row['recall']:6.2f}  {row['f1']:5.2f}  "
            f"{row['tracks']:6d}"
        )
    lines.append("  confusion matrix (rows: label, columns: predicted, numbered as the rows):")
    cell = max(4, len(str(cv["tracks"])) + 1)
    lines.append(f"  {'':<{width + 4}}" + "".join(f"{n:>{cell}}" for n in range(1, len(taxonomy) + 1)))
    for n, (name, row) in enumerate(zip(taxonomy, cv["confusion"]["matrix"]), start=1):
        lines.append(f"  {n:>2} {name:<{width}} " + "".join(f"{v:>{cell}}" for v in row))
    if cv["most_confused"]:
        lines.append(
            "  most confused: "
            + ", ".join(f"{p['label']} as {p['predicted']} ({p['tracks']})" for p in cv["most_confused"][:5])
        )
    parents = any(row["as_parent"] for row in cv["coverage"])
    lines.append(
        "  coverage vs accuracy (CV):  threshold  coverage  accuracy" + ("  as parent" if parents else "")
    )
    for row in cv["coverage"]:
        if round(row["threshold"] * 10, 6) % 1 == 0 or row["threshold"] == t["value"]:
            acc = "-" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
            mark = "  <- chosen" if abs(row["threshold"] - t["value"]) < 1e-9 else ""
            parent = f"  {row['as_parent']:9d}" if parents else ""
            lines.append(f"  {'':27}{row['threshold']:9.2f}  {row['coverage']:8.2f}  {acc:>8}{parent}{mark}")
    lines.append(f"threshold {t['value']:.2f}: {t['rule']}")
    lines.append(
        f"  at it (CV): {t['answered_class']} tracks get a class, {t['answered_parent']} a parent "
        f"({t['answered_parent_right']} right), {t['unknown']} unknown"
    )
    if cv["check_labels"]:
        lines.append("check these labels (the head disagrees most, held out):")
        for c in cv["check_labels"]:
            lines.append(
                f"  {printable(c['path'])}: labelled {c['label']} (p {c['p_label']:.2f}), "
                f"head says {c['predicted']} (p {c['p_predicted']:.2f})"
            )
    lines.append(f"head written to {result.head_path}; report {result.report_path}")
    return "\n".join(lines)


def options_from(args) -> Options:
    """The command's (or the API's) parsed options as :class:`Options`."""
    return Options(
        labels=args.labels,
        mapping=args.mapping,
        ignore=tuple(args.ignore or ()),
        min_tracks=args.min_tracks,
        model=args.model,
        calibration=args.calibration,
        features=args.features,
        folds=args.folds,
        threshold=args.threshold,
        target_accuracy=args.target_accuracy,
    )


def main(args, on_stats: Callable[[str], None] | None = None) -> TrainResult:
    """``recogenre train``: the snapshot found, the head trained and written (TrainError: nothing written)."""
    from recogenre.apps.run_lookup import run_to_read
    from recogenre.pipeline import layout

    opts = options_from(args)
    check_options(opts)
    run_path = run_to_read(args.snapshot, args.run, "train", "snapshot to train on")
    manifest = layout.read_manifest(run_path) or {}
    weights_sha256 = manifest.get("weights_sha256")
    if not weights_sha256:
        raise TrainError(
            f"train: the snapshot {os.path.basename(run_path)} has no manifest with its weights' sha256"
        )
    results_version = (manifest.get("settings") or {}).get("results_version")
    return train(run_path, args.head, opts, weights_sha256, on_stats, results_version)
