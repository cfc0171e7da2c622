"""``recogenre evaluate``: run a labelled catalogue and score the results against the labels.

A labelled catalogue is either a GTZAN-style tree ``SRC/<genre>/.../<file>``
or a catalogue file with a ``label`` column. The tracks are tagged by the
very same ``recogenre run`` (same options, same output layout, incremental
where it can be), so the numbers describe what production runs produce, not
a separate evaluation path. The scores go into ``OUT/latest/evaluation/``:

    summary.json          accuracy, counts, macro averages, per-genre scores
    per_genre.csv         precision, recall, F1, support for each of the ten genres
    confusion_matrix.csv  labels as rows, predictions as columns (10 x 10)
    confusion_matrix.png  the same as a picture
    misclassified.csv     every labelled track whose top genre is not its label
    catalogue.csv         the labelled catalogue that was run (for a tree)

A silent track has no genre: it counts as wrong, is predicted ``silent``,
and only then does the matrix get an eleventh column, so that each row
still adds up to its label's support. A track whose confidence is below
``--min-confidence`` is predicted ``unknown`` and counted the same way (a
column of its own); the summary adds the coverage (labelled tracks given a
genre), the accuracy of those, and the accuracy every track would have at
``--min-confidence 0``, and ``confidence.csv`` lists coverage and accuracy
over a range of thresholds, to choose one on a labelled collection. Files that could not be decoded are
not tracks; they are counted and named in the summary but not scored.
Metrics are computed with numpy: scikit-learn would be a large dependency
for four divisions.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from recogenre.analysis.genres import GENRES
from recogenre.analysis.logs import say
from recogenre.analysis.outcomes import UsageError
from recogenre.analysis.paths import is_remote, printable
from recogenre.analysis.wording import count

EVALUATION_DIR = "evaluation"
SILENT = "silent"
THRESHOLDS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


class EvaluationError(UsageError):
    """A catalogue that cannot be evaluated; ``str()`` says why."""


def genre_of(label: Any) -> str | None:
    """The GENRES name a label means ("Hip-Hop", " Jazz " ...), or None."""
    if label is None or (isinstance(label, float) and label != label):
        return None
    key = re.sub(r"[^a-z0-9]", "", str(label).lower())
    return key if key in GENRES else None


def tree_catalogue(root: str, target: str) -> dict[str, str]:
    """Writes ``target`` (path,label CSV) for a ``root/<genre>/<file>`` tree; returns path -> genre."""
    from recogenre.analysis.catalogue_files import is_audio_path
    from recogenre.analysis.paths import canonical_file, from_os_path

    labels: dict[str, str] = {}
    ignored = []
    for entry in sorted(os.scandir(root), key=lambda d: d.name):
        if not entry.is_dir():
            continue
        genre = genre_of(entry.name)
        if genre is None:
            ignored.append(entry.name)
            continue
        for folder, dirs, files in os.walk(entry.path, followlinks=True):
            dirs.sort()
            for name in sorted(files):
                path = canonical_file(from_os_path(os.path.join(folder, name)))  # as the run stores it
                if is_audio_path(path):
                    labels[path] = genre
    if ignored:
        say(f"ignoring folders that are not GTZAN genres: {', '.join(ignored)}")
    if not labels:
        raise EvaluationError(
            f"{root} has no audio files under genre folders ({', '.join(GENRES)}): "
            "expected a tree SRC/<genre>/<file> or a catalogue file with a label column"
        )
    import pandas as pd

    pd.DataFrame({"path": list(labels), "label": list(labels.values())}).to_csv(target, index=False)
    return labels


def file_labels(source: str) -> dict[str, str]:
    """path -> label of a catalogue file, with paths resolved exactly as the pipeline resolves them."""
    from recogenre.analysis.catalogue_files import CatalogueError, read_catalogue_file

    try:
        entries = read_catalogue_file(source)
    except CatalogueError as e:
        raise EvaluationError(str(e)) from None
    labels = {e.path: e.label for e in entries if e.label}
    if not labels:
        raise EvaluationError(f"catalogue {source} has no labels: add a 'label' column with GTZAN genres")
    return labels


def scores(labels: list[str], predicted: list[str]) -> dict[str, Any]:
    """Confusion matrix and per-genre precision/recall/F1 for genre labels and predictions.

    ``predicted`` may hold ``silent``; undefined ratios (no prediction or no
    support for a genre) are NaN rather than 0, so they cannot be mistaken
    for a measured failure.
    """
    from recogenre.analysis.aggregate import UNKNOWN

    columns = list(GENRES) + [c for c in (UNKNOWN, SILENT) if c in predicted]
    matrix = np.zeros((len(GENRES), len(columns)), dtype=np.int64)
    for true, guess in zip(labels, predicted):
        matrix[GENRES.index(true), columns.index(guess)] += 1
    square = matrix[:, : len(GENRES)]
    tp = np.diag(square).astype(float)
    n_predicted = square.sum(axis=0).astype(float)
    support = matrix.sum(axis=1).astype(float)
    # F1 as 2TP / (2TP + FP + FN): defined whenever the genre was labelled or predicted
    f1_denominator = n_predicted + support  # (TP + FP) + (TP + FN)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_predicted > 0, tp / n_predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = np.where(f1_denominator > 0, 2 * tp / f1_denominator, np.nan)
    correct = int(tp.sum())
    present = support > 0
    return {
        "columns": columns,
        "matrix": matrix,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support.astype(int),
        "predicted": n_predicted.astype(int),
        "correct": correct,
        "total": len(labels),
        "accuracy": correct / len(labels) if labels else float("nan"),
        # macro averages over the genres that occur among the labels
        "macro_precision": _mean(np.nan_to_num(precision[present])) if present.any() else float("nan"),
        "macro_recall": _mean(recall[present]) if present.any() else float("nan"),
        "macro_f1": _mean(f1[present]) if present.any() else float("nan"),
    }


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values))


def _json_number(value: float) -> float | None:
    return None if value != value else round(float(value), 6)


def write_evaluation(
    run_path: str, tracks, errors, labels: dict[str, str], min_confidence: float | None = None
) -> dict[str, Any]:
    """Scores the run's labelled tracks and writes the evaluation folder; returns the summary."""
    import pandas as pd

    from recogenre.apps import charts

    folder = Path(run_path) / EVALUATION_DIR
    folder.mkdir(parents=True, exist_ok=True)
    labelled = tracks[tracks["label"].notna()].sort_values("path").reset_index(drop=True)
    genre = labelled["label"].map(genre_of)
    unknown = sorted(set(labelled.loc[genre.isna(), "label"]))
    if unknown:
        say(f"labels that are not GTZAN genres are not scored: {', '.join(map(str, unknown))}")
    scored = labelled[genre.notna()].assign(true=genre[genre.notna()])
    scored = scored.assign(guess=scored["top_genre"].fillna(SILENT))
    result = scores(list(scored["true"]), list(scored["guess"]))

    per_genre = pd.DataFrame(
        {
            "genre": list(GENRES),
            "precision": result["precision"],
            "recall": result["recall"],
            "f1": result["f1"],
            "support": result["support"],
            "predicted": result["predicted"],
        }
    )
    per_genre.to_csv(folder / "per_genre.csv", index=False, float_format="%.6f")
    matrix = pd.DataFrame(result["matrix"], index=list(GENRES), columns=result["columns"])
    matrix.index.name = "label"
    matrix.to_csv(folder / "confusion_matrix.csv")
    run_id = Path(run_path).name
    charts.confusion_matrix(
        result["matrix"],
        list(GENRES),
        result["columns"],
        f"{result['correct']}/{result['total']} correct (run {run_id})",
        folder / "confusion_matrix.png",
    )
    confidence = _confidence_summary(scored, folder)
    wrong = scored[scored["true"] != scored["guess"]]
    label_score = [
        float(row[row["true"]]) if row["guess"] != SILENT else float("nan")
        for row in wrong.to_dict("records")
    ]
    pd.DataFrame(
        {
            "path": wrong["path"],
            "track_id": wrong["track_id"],
            "label": wrong["true"],
            "predicted": wrong["guess"],
            "top_score": wrong["top_score"],
            "label_score": label_score,
            "confidence": wrong.get("confidence"),
        }
    ).to_csv(folder / "misclassified.csv", index=False, float_format="%.6f")

    failed = sorted(p for p in errors["path"] if p in labels)
    summary = {
        "run_id": run_id,
        "labelled_tracks": len(labelled),
        "scored": result["total"],
        "correct": result["correct"],
        "accuracy": _json_number(result["accuracy"]),
        "macro_precision": _json_number(result["macro_precision"]),
        "macro_recall": _json_number(result["macro_recall"]),
        "macro_f1": _json_number(result["macro_f1"]),
        "silent": int((scored["guess"] == SILENT).sum()),
        "min_confidence": min_confidence,  # the run's; None for a run made before the option
        **confidence,
        "misclassified": len(wrong),
        "unknown_labels": unknown,
        "not_decoded": failed,
        "confusion_matrix_shape": list(result["matrix"].shape),
        "per_genre": {
            g: {
                "precision": _json_number(result["precision"][i]),
                "recall": _json_number(result["recall"][i]),
                "f1": _json_number(result["f1"][i]),
                "support": int(result["support"][i]),
            }
            for i, g in enumerate(GENRES)
        },
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return {**summary, "folder": str(folder), "wrong": wrong}


def _confidence_summary(scored, folder: Path) -> dict[str, Any]:
    """Unknown tracks, coverage and accuracy at the run's threshold and at others (``confidence.csv``)."""
    import pandas as pd

    from recogenre.analysis.aggregate import UNKNOWN, label

    n = len(scored)
    conf = scored["confidence"] if "confidence" in scored else pd.Series([None] * n, index=scored.index)
    vectors = scored[list(GENRES)].to_numpy(dtype=float, na_value=np.nan)
    genres = [None if np.isnan(v).any() else v for v in vectors]  # None: a silent track
    confs = [None if c is None or c != c else float(c) for c in conf]
    rows = []
    for threshold in THRESHOLDS:
        guesses = [label(g, c, threshold) for g, c in zip(genres, confs)]
        given = [gu not in (None, UNKNOWN) for gu in guesses]
        right = [gu == t for gu, t in zip(guesses, scored["true"])]
        n_given = sum(given)
        rows.append(
            {
                "min_confidence": threshold,
                "given_a_genre": n_given,
                "unknown": sum(gu == UNKNOWN for gu in guesses),
                "coverage": n_given / n if n else float("nan"),
                "accuracy": sum(right) / n if n else float("nan"),
                "accuracy_of_given": sum(right) / n_given if n_given else float("nan"),
            }
        )
    pd.DataFrame(rows).to_csv(folder / "confidence.csv", index=False, float_format="%.6f")
    unknown = int((scored["guess"] == UNKNOWN).sum())
    given = scored[~scored["guess"].isin((UNKNOWN, SILENT))]
    everything = [label(g, c, 0.0) == t for g, c, t in zip(genres, confs, scored["true"])]
    return {
        "unknown": unknown,
        "coverage": _json_number(len(given) / n if n else float("nan")),
        "accuracy_of_given": _json_number(
            float((given["guess"] == given["true"]).mean()) if len(given) else float("nan")
        ),
        "accuracy_at_min_confidence_0": _json_number(sum(everything) / n if n else float("nan")),
        "confidence_median": _json_number(
            float(np.median([c for c in confs if c is not None]))
            if any(c is not None for c in confs)
            else float("nan")
        ),
    }


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines for the terminal: the headline, genres that occur, and what went wrong."""
    accuracy = summary["accuracy"]
    head = (
        f"evaluation of run {summary['run_id']}: {summary['correct']}/{summary['scored']} correct, "
        f"accuracy {accuracy * 100:.1f}%"
        if accuracy is not None
        else f"evaluation of run {summary['run_id']}: no labelled track to score"
    )
    lines = [head]
    rows = [(g, s) for g, s in summary["per_genre"].items() if s["support"] or s["precision"] is not None]
    if rows:
        lines.append(f"  {'genre':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
        for g, s in rows:
            cells = [("–" if s[k] is None else f"{s[k]:.3f}") for k in ("precision", "recall", "f1")]
            lines.append(f"  {g:<10} {cells[0]:>9} {cells[1]:>7} {cells[2]:>6} {s['support']:>8}")
    if summary["silent"]:
        lines.append(f"silent tracks (counted as wrong): {summary['silent']}")
    if summary.get("unknown"):
        threshold = summary.get("min_confidence")
        below = f"confidence below {threshold:g}" if threshold is not None else "low confidence"
        lines.append(
            f"unknown ({below}, counted as wrong): {summary['unknown']}; coverage "
            f"{summary['coverage'] * 100:.1f}%, accuracy of the tracks given a genre "
            f"{summary['accuracy_of_given'] * 100:.1f}%; with every track labelled "
            f"(--min-confidence 0): accuracy {summary['accuracy_at_min_confidence_0'] * 100:.1f}%"
        )
    for row in summary["wrong"].to_dict("records"):
        lines.append(printable(f"misclassified: {row['path']}: {row['true']} -> {row['guess']}"))
    if summary["not_decoded"]:
        lines.append(f"not decoded, not scored: {len(summary['not_decoded'])} labelled file(s)")
    lines.append(printable(f"evaluation: {summary['folder']}"))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    """Builds the labelled catalogue, runs it with ``recogenre run``, then scores ``latest``."""
    from recogenre.pipeline import layout
    from recogenre.pipeline.layout import read_tables
    from recogenre.pipeline.run import main as run_main

    if is_remote(args.output):
        raise EvaluationError(f"evaluate writes to local output folders only, not {args.output}")
    source = args.catalogue
    with tempfile.TemporaryDirectory(prefix="recogenre-evaluate-") as tmp:
        # EvaluationError (a UsageError): said by the command line, exit status 2
        if not os.path.exists(source):
            raise EvaluationError(
                f"{source} does not exist (expected a folder SRC/<genre>/<file> "
                "or a catalogue file with a label column)"
            )
        if os.path.isdir(source):
            catalogue = os.path.join(tmp, "catalogue.csv")
            labels = tree_catalogue(source, catalogue)
        elif source.lower().endswith((".csv", ".jsonl", ".parquet")):
            catalogue, labels = source, file_labels(source)
        else:
            raise EvaluationError(
                f"{source} is neither a folder of genre folders nor a catalogue file with a label column"
            )
        say(f"evaluating {count(len(labels), 'labelled file')} from {source}")
        run_args = copy.copy(args)
        run_args.catalogue = catalogue
        # The manifest records what the user gave, not the temporary CSV built from a tree
        # (deleted when evaluate ends); the CSV itself is kept as evaluation/catalogue.csv.
        status = run_main(run_args, shown_catalogue=source)
        if status != 0:
            return status
        run_path = layout.latest_run(args.output)
        manifest = (layout.read_manifest(run_path) if run_path else None) or {}
        if manifest.get("catalogue") != source:
            say(f"{args.output}/{layout.LATEST} is not the run just made (another run finished since)")
            return 1
        tables = read_tables(run_path)
        summary = write_evaluation(
            run_path,
            tables["tracks"],
            tables["errors"],
            labels,
            manifest.get("options", {}).get("min_confidence"),
        )
        if catalogue != source:
            shutil.copyfile(catalogue, Path(summary["folder"]) / "catalogue.csv")
    print(format_summary(summary), flush=True)
    return 0
