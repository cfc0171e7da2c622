"""Bad weights, models and options stop everything before it starts (issue 9, class 2).

Each case is a real ``recogenre`` process on an output folder that already
holds a published snapshot: it must exit 2 with one line naming the problem,
and leave no run folder, no lock, and ``latest`` and the old run untouched.
The broken files are made here from a freshly built CRNN.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import pytest

from recogenre.analysis.model_check import ModelCheckError, check_weights_file
from recogenre.pipeline.lock import LOCK_NAME
from tests.conftest import ROOT, WEIGHTS, clip, run_command, unstamped

OLD_RUN = "20250101T000000Z-abcd"


def truncated(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Weights and model files that are wrong in every way the launcher must catch."""
    from recogenre.analysis.crnn import build_crnn, keras, layers

    d = tmp_path_factory.mktemp("models")
    files: dict[str, Path] = {}
    good = d / "good.weights.h5"
    build_crnn().save_weights(good)
    files["good"] = good
    files["legacy truncated"] = truncated(WEIGHTS, d / "crnn_gtzan_keras1.h5")
    files["weights truncated"] = truncated(good, d / "cut.weights.h5", 0.6)
    files["weights wrong output"] = d / "five.weights.h5"
    shutil.copyfile(good, files["weights wrong output"])
    with h5py.File(files["weights wrong output"], "r+") as h5:
        for name, shape in (("layers/dense/vars/0", (32, 5)), ("layers/dense/vars/1", (5,))):
            del h5[name]
            h5.create_dataset(name, data=np.zeros(shape, np.float32))
    files["weights nan"] = d / "nan.weights.h5"
    shutil.copyfile(good, files["weights nan"])
    with h5py.File(files["weights nan"], "r+") as h5:
        h5["layers/conv2d/vars/1"][0] = np.nan
    files["not a model"] = d / "notes.weights.h5"
    files["not a model"].write_text("liner notes\n" * 100)

    def model(shape, outputs, lambda_layer=False):
        x = inputs = keras.Input(shape=shape)
        if lambda_layer:
            x = layers.Lambda(lambda t: t * 2.0)(x)
        x = layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, layers.Dense(outputs, activation="sigmoid")(x))

    for name, m in (
        ("keras lambda", model((96, 1366, 1), 10, lambda_layer=True)),
        ("keras wrong input", model((128, 1366, 1), 10)),
        ("keras wrong output", model((96, 1366, 1), 5)),
    ):
        files[name] = d / (name.replace(" ", "-") + ".keras")
        m.save(files[name])
    files["keras truncated"] = truncated(files["keras wrong output"], d / "cut.keras")
    return files


def test_model_check_accepts_the_real_weights_and_a_keras3_save_without_tensorflow(models):
    code = (
        "import sys; from recogenre.analysis.model_check import check_weights_file as c; "
        f"c({str(WEIGHTS)!r}); c({str(models['good'])!r}); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    "name, words",
    [
        ("weights truncated", "truncated or damaged"),
        ("weights wrong output", "has shape (32, 5), expected (32, 10)"),
        ("weights nan", "NaN or infinite"),
        ("not a model", "not a readable HDF5"),
        ("keras lambda", "Lambda layer"),
        ("keras wrong input", "takes (128, 1366, 1) input"),
        ("keras wrong output", "maps (96, 1366, 1) to (5,)"),
        ("keras truncated", "not a readable .keras archive"),
    ],
)
def test_model_check_names_the_problem(models, name, words):
    with pytest.raises(ModelCheckError) as e:
        check_weights_file(str(models[name]))
    assert words in str(e.value) and str(models[name]) in str(e.value)


@pytest.fixture
def published(tmp_path) -> Path:
    """An output folder holding a snapshot that a bad start must not touch."""
    out = tmp_path / "out"
    run = out / "runs" / OLD_RUN
    (run / "tracks").mkdir(parents=True)
    (run / ".recogenre-run").write_text(OLD_RUN + "\n")
    (run / "manifest.json").write_text(json.dumps({"run_id": OLD_RUN}))
    (out / "latest").symlink_to(f"runs/{OLD_RUN}", target_is_directory=True)
    return out


def snapshot(out: Path) -> list[tuple[str, float]]:
    return sorted((str(p.relative_to(out)), p.lstat().st_mtime) for p in out.rglob("*"))


WEIGHTS_CASES = [
    ("legacy truncated", "is not the published GTZAN CRNN"),
    ("weights truncated", "truncated or damaged"),
    ("weights wrong output", "expected (32, 10)"),
    ("keras lambda", "safe mode refuses"),
    ("keras wrong output", "maps (96, 1366, 1) to (5,)"),
]
OPTION_CASES = [
    (["--trim-seconds", "nan"], "--trim-seconds must be a number of seconds >= 0, not nan"),
    (["--trim-seconds", "-5"], "--trim-seconds must be"),
    (["--batch-size", "0"], "--batch-size must be a whole number >= 1"),
    (["--model-threads", "-1"], "--model-threads must be"),
    (["--keep", "0"], "--keep must be"),
    (["--segment-frames", "-2"], "--segment-frames must be"),
    (["--progress-seconds", "nan"], "--progress-seconds must be"),
    (["--max-error-rate", "1.5"], "--max-error-rate must be a fraction"),
    (["--batch-size", "two"], "invalid int value: 'two'"),
    (["--dry-run"], "unknown option --dry-run"),
    (["--fulll"], "unknown option --fulll"),
    (["--ful"], "unknown option --ful "),
    (["--runner=DirectRunner", "--direct_num_workerz=2"], "unknown option --direct_num_workerz=2"),
    (["--direct_num_workers=many"], "invalid int value: 'many'"),
]
# Each process costs a launcher start: the processes prove the one-line exit of a real launch,
# the in-process cases (the same entry point) cover every option.
PROCESS_OPTION_CASES = [OPTION_CASES[0], OPTION_CASES[10]]


def with_models(args: list[str], models: dict[str, Path]) -> list[str]:
    return [str(models[a]) if a in models else a for a in args]


def one_line_exit_2(proc: subprocess.CompletedProcess, words: str) -> None:
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("recogenre: ") and words in lines[0], lines[0]
    assert proc.stdout == ""


def run_all(commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Starts the commands a few at a time (each is a real launcher process)."""

    def one(cmd):
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(one, commands))


def untouched(out: Path, before: list, link: str) -> None:
    assert snapshot(out) == before and os.readlink(out / "latest") == link
    assert not (out / LOCK_NAME).exists()
    assert [p.name for p in (out / "runs").iterdir()] == [OLD_RUN]


def test_run_refuses_bad_weights_before_anything_starts(models, published):
    before, link = snapshot(published), os.readlink(published / "latest")
    commands = [run_command(clip("die.au"), published, weights=models[name]) for name, _ in WEIGHTS_CASES]
    commands += [run_command(clip("die.au"), published, *args) for args, _ in PROCESS_OPTION_CASES]
    cases = [words for _, words in WEIGHTS_CASES + PROCESS_OPTION_CASES]
    for words, proc in zip(cases, run_all(commands)):
        one_line_exit_2(proc, words)
    untouched(published, before, link)


@pytest.mark.parametrize("args, words", OPTION_CASES, ids=[" ".join(a) for a, _ in OPTION_CASES])
def test_run_refuses_bad_options_before_anything_starts(published, capsys, args, words):
    from recogenre.cli import main

    before, link = snapshot(published), os.readlink(published / "latest")
    argv = run_command(clip("die.au"), published, *args)[3:]  # after "python -m recogenre"
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's own errors leave through SystemExit, in one line too
        status = e.code
    captured = capsys.readouterr()
    one_line_exit_2(subprocess.CompletedProcess(argv, status, captured.out, captured.err), words)
    untouched(published, before, link)


def test_beam_options_recogenre_documents_are_still_accepted():
    from recogenre.pipeline.options_check import unknown_beam_args

    documented = [
        "--runner=FlinkRunner",
        "--flink_master=host:8081",
        "--environment_type=PROCESS",
        '--environment_config={"command": "x"}',
        "--spark_master_url=spark://host:7077",
        "--project=my-project",
        "--region=europe-west1",
        "--temp_location=gs://b/tmp",
        "--setup_file=./setup.py",
        "--direct_num_workers=2",
        "--direct_running_mode",
        "multi_processing",
        "--job_endpoint=embed",
    ]
    assert unknown_beam_args(documented) == []
    assert unknown_beam_args(["--direct_num_workers=2", "--fulll", "x"]) == ["--fulll", "x"]


CLASSIFY_CASES = [
    (["--weights", "legacy truncated"], "is not the published GTZAN CRNN"),
    (["--weights", "keras wrong output"], "maps (96, 1366, 1) to (5,)"),
    (["--trim-seconds", "nan"], "--trim-seconds must be"),
    (["--trim-second", "3"], "unknown argument --trim-second"),
]
SERVE_CASES = [
    (["--weights", "weights truncated"], "truncated or damaged"),
    (["--weights", "keras lambda"], "safe mode refuses"),
    (["--threads", "0"], "--threads must be"),
    (["--hos", "0.0.0.0"], "unknown argument --hos"),
]


def test_classify_and_serve_give_the_same_one_line_errors(models):
    base = [sys.executable, "-m", "recogenre"]
    commands = [
        [*base, "classify", *with_models(args, models), clip("die.au")] for args, _ in CLASSIFY_CASES
    ] + [[*base, "serve", "--port", "0", *with_models(args, models)] for args, _ in SERVE_CASES]
    for (_, words), proc in zip(CLASSIFY_CASES + SERVE_CASES, run_all(commands)):
        one_line_exit_2(proc, words)
