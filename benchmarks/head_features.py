"""Which stored features a user-trained head should read: CV balanced accuracy per feature set.

For each library, every feature set (``analysis/head_features.py``: blocks joined by ``+``;
those needing a column the snapshot lacks are listed as such) is scored with the same
grouped cross-validation ``recogenre train`` reports (logistic regression, temperature
calibration); then, for the default set, the models and calibrations are compared,
with the expected calibration error (ECE) of the held-out probabilities.

By default two generated libraries (``tests/train_library.py``, written to a temporary
folder and run once with the shared weights): ``timbre`` (drone, noise, pluck) and
``tempo`` (one drum sound at 80, 110 and 140 bpm), 4 albums of 4 tracks per class.
``--snapshot OUT --labels SRC`` scores a library of your own instead (``--min-tracks N``).
Prints figures; asserts nothing.

Usage: .venv/bin/python benchmarks/head_features.py [--snapshot OUT --labels SRC [--min-tracks N]]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recogenre.analysis.head_features import BLOCKS, missing_columns  # noqa: E402
from recogenre.apps.label_sources import read_labels  # noqa: E402
from recogenre.apps.training import Options, cv_report, out_of_fold, prepare, read_tracks  # noqa: E402

SETS = (
    "embedding",
    "scores",
    "embedding+scores",
    "rhythm",
    "embedding+rhythm",
    "embedding+scores+rhythm",
    "embedding+embedding_std",
    "embedding+embedding_std+scores+rhythm",
)
MODELS = (("logistic", "none"), ("logistic", "sigmoid"), ("logistic", "temperature"), ("mlp", "temperature"))


def score(tracks, labels: str, min_tracks: int, features: str, model: str, calibration: str) -> dict:
    from recogenre.analysis.head_models import grouped_splits

    opts = Options(
        labels=labels, min_tracks=min_tracks, features=features, model=model, calibration=calibration
    )
    prepared = prepare(tracks, read_labels(labels, tracks), opts)
    splits = grouped_splits(prepared.y, prepared.groups, opts.folds, opts.seed)
    P = out_of_fold(prepared.X, prepared.y, prepared.groups, splits, len(prepared.taxonomy), opts)
    return cv_report(
        P, prepared.y, prepared.taxonomy, prepared.paths, len(splits), prepared.grouped_by, prepared.groups
    )


def bench(name: str, run_path: str, labels: str, min_tracks: int, default_set: str) -> None:
    tracks = read_tracks(run_path)
    print(f"\n{name}: labels {labels}")
    print(f"  {'feature set':40} {'bal.acc':>7} {'acc':>6} {'ECE':>6}  classes/tracks")
    for features in SETS:
        missing = missing_columns(features, tracks.columns)
        if missing:
            print(f"  {features:40} {'-':>7} {'-':>6} {'-':>6}  no column {', '.join(missing)}")
            continue
        cv = score(tracks, labels, min_tracks, features, "logistic", "temperature")
        chance = cv["majority_balanced_accuracy"]
        print(f"  {features:40} {cv['balanced_accuracy']:7.3f} {cv['accuracy']:6.3f} {cv['ece']:6.3f}  "
              f"{len(cv['per_class'])}/{cv['tracks']}  (chance {chance:.3f})")  # fmt: skip
    features = default_set if not missing_columns(default_set, tracks.columns) else "embedding+scores"
    print(f"  models on {features}:")
    for model, calibration in MODELS:
        cv = score(tracks, labels, min_tracks, features, model, calibration)
        print(f"  {model + ' + ' + calibration + ' calibration':40} {cv['balanced_accuracy']:7.3f} "
              f"{cv['accuracy']:6.3f} {cv['ece']:6.3f}")  # fmt: skip


def generated(base: Path) -> list[tuple[str, str, str]]:
    from tests.conftest import WEIGHTS, run_command
    from tests.train_library import make_library

    libraries = {"timbre": {"drone": 4, "noise": 4, "pluck": 4}, "tempo": {"slow": 4, "mid": 4, "fast": 4}}
    out = []
    for i, (name, classes) in enumerate(libraries.items()):
        lib = base / name
        make_library(lib, classes, tracks_per_album=4, seed=100 + i)
        snapshot = base / f"out-{name}"
        done = subprocess.run(run_command(lib, snapshot, weights=WEIGHTS), capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(done.stderr)
        out.append((name, os.path.realpath(snapshot / "latest"), "folder:2"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", help="output folder of recogenre run (its latest run)")
    parser.add_argument("--labels", help="label source, as for recogenre train")
    parser.add_argument("--min-tracks", type=int, default=4)
    args = parser.parse_args()
    from recogenre.analysis.head_features import default_feature_set

    print("blocks: " + "; ".join(f"{b.name}: {b.doc}" for b in BLOCKS.values()))
    if args.snapshot:
        run = os.path.realpath(os.path.join(args.snapshot, "latest"))
        columns = read_tracks(run).columns
        bench(args.snapshot, run, args.labels, args.min_tracks, default_feature_set(columns))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, run, labels in generated(Path(tmp)):
            bench(name, run, labels, args.min_tracks, default_feature_set(read_tracks(run).columns))


if __name__ == "__main__":
    main()
