"""``recogenre evaluate`` on the labelled shared clips, and the scores it computes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recogenre.analysis.genres import GENRES
from recogenre.apps.evaluate import SILENT, genre_of, scores
from tests.conftest import LABELLED, ROOT, WEIGHTS, clip, stored, unstamped


def evaluate(catalogue: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "recogenre",
            "evaluate",
            "--catalogue",
            str(catalogue),
            "--output",
            str(out),
            "--weights",
            str(WEIGHTS),
            "--direct_num_workers=1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def gtzan_tree(tmp_path_factory) -> Path:
    """SRC/<genre>/<file>, as GTZAN is laid out, made of links to the shared clips."""
    root = tmp_path_factory.mktemp("labelled") / "src"
    for name, genre in LABELLED.items():
        (root / genre).mkdir(parents=True, exist_ok=True)
        (root / genre / name).symlink_to(clip(name))
    (root / "not-a-genre").mkdir()
    (root / "not-a-genre" / "die.au").symlink_to(clip("die.au"))
    return root


@pytest.fixture(scope="module")
def tree_run(gtzan_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation") / "out"
    proc = evaluate(gtzan_tree, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, out / "latest" / "evaluation"


def test_labelled_clips_score_five_out_of_five(tree_run, gtzan_tree):
    proc, folder = tree_run
    manifest = json.loads((folder.parent / "manifest.json").read_text())
    assert manifest["catalogue"] == str(gtzan_tree)  # what the user gave, not evaluate's temporary CSV
    assert "5/5 correct, accuracy 100.0%" in proc.stdout
    assert "ignoring folders that are not GTZAN genres: not-a-genre" in proc.stderr
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["correct"] == summary["scored"] == 5 and summary["accuracy"] == 1.0
    assert summary["confusion_matrix_shape"] == [10, 10] and summary["misclassified"] == 0
    assert summary["run_id"] == (folder.parent).resolve().name


def test_confusion_matrix_is_ten_by_ten_with_the_labels_on_its_diagonal(tree_run):
    _, folder = tree_run
    matrix = pd.read_csv(folder / "confusion_matrix.csv", index_col="label")
    assert list(matrix.index) == list(GENRES) and list(matrix.columns) == list(GENRES)
    want = pd.Series(LABELLED).value_counts()
    expected = np.diag([want.get(g, 0) for g in GENRES])
    np.testing.assert_array_equal(matrix.to_numpy(), expected)
    assert (folder / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"


def test_per_genre_scores_and_misclassified_list(tree_run):
    _, folder = tree_run
    per_genre = pd.read_csv(folder / "per_genre.csv").set_index("genre")
    assert list(per_genre.index) == list(GENRES)
    for genre in set(LABELLED.values()):
        row = per_genre.loc[genre]
        assert row["precision"] == row["recall"] == row["f1"] == 1.0
    assert per_genre.loc["classical", "support"] == 2 and per_genre["support"].sum() == 5
    assert per_genre.loc["blues"].isna()[["precision", "recall", "f1"]].all()  # no label, no prediction
    assert pd.read_csv(folder / "misclassified.csv").empty
    catalogue = pd.read_csv(folder / "catalogue.csv")
    assert sorted(catalogue["label"]) == sorted(LABELLED.values())


def test_catalogue_file_with_labels_lists_what_it_got_wrong(tmp_path):
    catalogue = tmp_path / "labelled.csv"
    pd.DataFrame(
        {
            "path": [clip("disco.00000.au"), clip("metal.00000.au"), clip("die.au")],
            "label": ["Disco", "jazz", "ambient"],  # die.au's label is not a GTZAN genre
        }
    ).to_csv(catalogue, index=False)
    proc = evaluate(catalogue, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1/2 correct, accuracy 50.0%" in proc.stdout
    assert f"misclassified: {stored(clip('metal.00000.au'))}: jazz -> metal" in proc.stdout
    assert "not GTZAN genres are not scored: ambient" in proc.stderr
    folder = tmp_path / "out" / "latest" / "evaluation"
    wrong = pd.read_csv(folder / "misclassified.csv")
    assert list(wrong["path"]) == [stored(clip("metal.00000.au"))]
    assert (
        wrong.loc[0, "predicted"] == "metal" and 0 < wrong.loc[0, "label_score"] < wrong.loc[0, "top_score"]
    )
    assert not (folder / "catalogue.csv").exists()  # the user's own catalogue was run as it is


def test_missing_catalogue_says_it_does_not_exist(tmp_path):
    missing = tmp_path / "GTZAN" / "genres_original"
    proc = evaluate(missing, tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = unstamped(proc.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"recogenre: {missing} does not exist")
    assert not (tmp_path / "out").exists()


def test_unlabelled_catalogue_is_refused(tmp_path):
    catalogue = tmp_path / "plain.csv"
    pd.DataFrame({"path": [clip("die.au")]}).to_csv(catalogue, index=False)
    proc = evaluate(catalogue, tmp_path / "out")
    assert proc.returncode == 2 and "has no labels" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_scores_count_silence_as_wrong_in_an_extra_column():
    labels = ["disco", "disco", "jazz", "metal"]
    predicted = ["disco", SILENT, "rock", "metal"]
    result = scores(labels, predicted)
    assert result["columns"] == [*GENRES, SILENT] and result["matrix"].shape == (10, 11)
    assert result["matrix"].sum(axis=1)[GENRES.index("disco")] == 2  # rows still add up to support
    assert result["correct"] == 2 and result["accuracy"] == 0.5
    i = {g: GENRES.index(g) for g in ("disco", "jazz", "rock", "metal", "blues")}
    assert result["precision"][i["disco"]] == 1.0 and result["recall"][i["disco"]] == 0.5
    assert result["f1"][i["disco"]] == pytest.approx(2 / 3)
    assert result["precision"][i["rock"]] == 0.0 and math.isnan(result["recall"][i["rock"]])
    assert result["f1"][i["rock"]] == 0.0 and result["f1"][i["jazz"]] == 0.0
    assert math.isnan(result["f1"][i["blues"]])
    assert result["macro_recall"] == pytest.approx((0.5 + 0 + 1) / 3)


def test_labels_are_matched_to_genres_leniently():
    assert [genre_of(x) for x in ("Hip-Hop", " Jazz ", "hip hop", "ROCK")] == [
        "hiphop",
        "jazz",
        "hiphop",
        "rock",
    ]
    assert genre_of("ambient") is None and genre_of(None) is None and genre_of(float("nan")) is None
