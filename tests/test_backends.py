"""Backends and precisions: the default equals the Keras reference, the cache is never trusted blindly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recogenre.analysis import openvino_model
from recogenre.analysis.backends import DEFAULT_BACKEND, DEFAULT_PRECISION
from recogenre.analysis.classifier import Model, classify_file
from recogenre.analysis.features import TrackReader
from recogenre.analysis.weights import resolve_weights
from tests.conftest import AUDIO, LABELLED, ROOT, WEIGHTS, clip, run_command
from tests.test_crnn import reference_batch

# OpenVINO fp32 against the Keras reference, on the embedding (gru2's 32 outputs): the
# largest |difference| measured on every non-silent frame of the shared clips was 5.6e-6
# (the scores': 8e-7). Those outputs are not squashed by a final sigmoid, so they keep
# more of the convolutions' float32 rounding than the scores; 2e-5 is ~4x the measured
# worst case and moves a cosine similarity by less than 1e-6.
EMBEDDING_TOLERANCE = 2e-5


@pytest.fixture(scope="module")
def reference():
    from recogenre.analysis.crnn import load_crnn

    return load_crnn(WEIGHTS)


@pytest.fixture(scope="module")
def shared_frames() -> np.ndarray:
    """Every non-silent log-mel frame of every shared clip."""
    frames = []
    for path in sorted(AUDIO.iterdir()):
        if path.suffix == ".md":
            continue
        with TrackReader(str(path)) as reader:
            frames += [f.melgram for f in reader.frames() if not f.silent]
    return np.stack(frames)


def test_folded_graph_reproduces_the_keras1_outputs(reference):
    from recogenre.analysis.crnn_folded import fold, with_embedding

    x, expected = reference_batch()
    folded, embedding = fold(reference).predict_on_batch(x)
    np.testing.assert_allclose(folded, expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(folded, reference.predict_on_batch(x), rtol=0, atol=1e-5)
    reference_embedding = with_embedding(reference).predict_on_batch(x)[1]
    np.testing.assert_allclose(embedding, reference_embedding, rtol=0, atol=EMBEDDING_TOLERANCE)


def test_default_backend_equals_keras_on_every_frame_of_the_shared_clips(reference, model, shared_frames):
    from recogenre.analysis.aggregate import normalise

    assert (model.backend, model.precision) == (DEFAULT_BACKEND, DEFAULT_PRECISION)
    assert len(shared_frames) >= 10  # the shared clips hold 15 non-silent frames
    want = np.concatenate(
        [reference.predict_on_batch(b[..., None]) for b in np.array_split(shared_frames, 4)]
    )
    got = np.concatenate([model.predict(b) for b in np.array_split(shared_frames, 4)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    from recogenre.analysis.crnn_folded import with_embedding

    two = with_embedding(reference)
    want_embedding = np.concatenate(
        [two.predict_on_batch(b[..., None])[1] for b in np.array_split(shared_frames, 4)]
    )
    got_embedding = np.concatenate([model.infer(b).embeddings for b in np.array_split(shared_frames, 4)])
    np.testing.assert_allclose(got_embedding, want_embedding, rtol=0, atol=EMBEDDING_TOLERANCE)
    for g, w in zip(got, want):  # the normalised scores the tables hold, too
        np.testing.assert_allclose(normalise(g), normalise(w), rtol=0, atol=1e-5)


CONVERT_WITHOUT_TENSORFLOW = """
import json, sys
from pathlib import Path
from recogenre.analysis.openvino_model import convert
convert(sys.argv[1], Path(sys.argv[2]))
print(json.dumps(sorted(m for m in ("tensorflow", "keras") if m in sys.modules)))
"""


def test_tensorflow_free_conversion_equals_the_keras_port_on_every_frame(reference, shared_frames, tmp_path):
    """The OpenVINO model built from the HDF5 file (h5py, numpy, opset API) imports no TensorFlow
    and gives the Keras port's scores and embeddings to 1e-5 on every frame of the shared clips."""
    import openvino as ov

    from recogenre.analysis.crnn_folded import with_embedding

    done = subprocess.run(
        [sys.executable, "-c", CONVERT_WITHOUT_TENSORFLOW, str(WEIGHTS), str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []  # neither was imported
    fp32 = {"INFERENCE_PRECISION_HINT": "f32"}
    compiled = ov.Core().compile_model(str(tmp_path / "model.xml"), "CPU", fp32)
    scores_at, embedding_at = openvino_model.output_indices(compiled)
    two = with_embedding(reference)
    for batch in np.array_split(shared_frames, 4):
        want_scores, want_embedding = two.predict_on_batch(batch[..., None])
        got = compiled(batch[..., None])
        np.testing.assert_allclose(got[scores_at], want_scores, rtol=0, atol=1e-5)
        np.testing.assert_allclose(got[embedding_at], want_embedding, rtol=0, atol=1e-5)


def test_keras_backend_equals_the_reference(reference):
    x, _ = reference_batch()
    keras_backend = Model(str(WEIGHTS), backend="keras")
    np.testing.assert_allclose(keras_backend.predict(x[..., 0]), reference.predict_on_batch(x), atol=1e-5)


def test_bf16_gives_fp32s_top_genre_on_the_labelled_clips(model):
    bf16 = Model(str(WEIGHTS), model.weights_sha256, "openvino", "bf16")
    for name in LABELLED:
        fp32_track = classify_file(clip(name), model)
        bf16_track = classify_file(clip(name), bf16)
        assert bf16_track.vector.top_genre == fp32_track.vector.top_genre, name
        deviation = max(np.abs(a.raw - b.raw).max() for a, b in zip(fp32_track.frames, bf16_track.frames))
        assert deviation < 0.05, name  # bf16 rounds, it does not change the model


def test_cache_rebuilds_a_corrupt_or_stale_entry(tmp_path, monkeypatch):
    import shutil

    path, digest = resolve_weights(str(WEIGHTS))
    warm = openvino_model.ensure_cached(path, digest).parent  # the user's cache (one conversion saved)
    monkeypatch.setenv(openvino_model.CACHE_ENV, str(tmp_path / "cache"))
    shutil.copytree(warm, openvino_model.entry_dir(digest))
    xml = openvino_model.ensure_cached(path, digest)
    assert xml.parent.parent == tmp_path / "cache"
    x, expected = reference_batch()
    good_bin = (xml.parent / "model.bin").read_bytes()

    # corrupt: a flipped byte in the weights file is caught by the checksum and rebuilt
    damaged = bytearray(good_bin)
    damaged[len(damaged) // 2] ^= 0xFF
    (xml.parent / "model.bin").write_bytes(bytes(damaged))
    with pytest.raises(openvino_model.CacheError):
        openvino_model.verify(xml.parent, digest)
    assert openvino_model.ensure_cached(path, digest) == xml
    assert (xml.parent / "model.bin").read_bytes() == good_bin
    got = openvino_model.OpenVinoModel(xml).predict(x)
    np.testing.assert_allclose(got, expected, atol=1e-4)

    # stale: an entry made for another converter (its recorded key differs) is rebuilt
    meta = json.loads((xml.parent / "model.json").read_text())
    meta["key"]["openvino"] = "0.0.0"
    (xml.parent / "model.json").write_text(json.dumps(meta))
    with pytest.raises(openvino_model.CacheError):
        openvino_model.verify(xml.parent, digest)
    openvino_model.ensure_cached(path, digest)
    assert json.loads((xml.parent / "model.json").read_text())["key"] == openvino_model.cache_key(digest)

    # other weights get their own entry
    assert openvino_model.entry_dir("0" * 64) != xml.parent
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]  # no leftovers


def test_no_tensorflow_in_classify_or_a_run_with_a_warm_cache(tmp_path, model):
    """The launcher converted already (the ``model`` fixture): classify and a whole in-process run
    (launcher and worker in one process) must then never import TensorFlow or Keras."""
    out = tmp_path / "out"
    run_args = run_command(clip("disco.00000.au"), out, "--direct_running_mode=in_memory")[3:]
    script = (
        "import sys, json\n"
        "from recogenre.cli import main\n"
        f"assert main(['classify', '--weights', {str(WEIGHTS)!r}, {clip('metal.00000.au')!r}]) == 0\n"
        f"assert main({run_args!r} + ['--progress-seconds=0']) == 0\n"
        "print(json.dumps([m for m in ('tensorflow', 'keras') if m in sys.modules]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT, env=os.environ
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "metal" in proc.stdout
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert (out / "latest" / "manifest.json").exists()


def test_a_backend_change_forces_a_full_run(tmp_path):
    out = tmp_path / "out"
    library = tmp_path / "lib"
    library.mkdir()
    (library / "metal.au").write_bytes((AUDIO / "metal.00000.au").read_bytes())

    def run(*extra: str) -> dict:
        cmd = run_command(library, out, "--direct_num_workers=1", "--progress-seconds=0", *extra)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads((out / "latest" / "manifest.json").read_text())

    first = run()
    assert first["settings"]["backend"] == DEFAULT_BACKEND
    assert first["settings"]["precision"] == DEFAULT_PRECISION
    assert run("--precision", "bf16")["mode"] == "full run (precision changed)"
    int8 = run("--precision", "int8")  # a setting of its own, like bf16
    assert (int8["mode"], int8["settings"]["precision"]) == ("full run (precision changed)", "int8")
    second = run("--backend", "keras")
    assert second["mode"] == "full run (backend, precision changed)"
    assert second["counts"]["decoded"] == 1
    assert (second["settings"]["backend"], second["options"]["backend"]) == ("keras", "keras")


def test_bf16_with_keras_is_a_usage_error(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "recogenre",
            "classify",
            "--backend",
            "keras",
            "--precision",
            "bf16",
            clip("metal.00000.au"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "bf16" in proc.stderr


def test_cache_lives_where_the_user_says(tmp_path, monkeypatch):
    monkeypatch.setenv(openvino_model.CACHE_ENV, str(tmp_path / "c"))
    assert openvino_model.cache_root() == tmp_path / "c"
    monkeypatch.delenv(openvino_model.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert openvino_model.cache_root() == Path(tmp_path / "xdg" / "recogenre")


@pytest.mark.parametrize(
    "beam_args, mode, workers",
    [
        ([], "multi_processing", 0),  # the default: one worker process per core
        (["--direct_num_workers=1"], "in_memory", 1),
        (["--direct_running_mode=in_memory"], "in_memory", 1),
        (["--direct_num_workers=3"], "multi_processing", 3),
        (["--direct_running_mode=multi_threading", "--direct_num_workers=2"], "multi_threading", 2),
    ],
)
def test_run_uses_every_core_unless_told_otherwise(beam_args, mode, workers):
    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

    from recogenre.pipeline.runners import default_runner, model_threads

    options = PipelineOptions(beam_args)
    default_runner(options, beam_args)
    direct = options.view_as(DirectOptions)
    assert (direct.direct_running_mode, direct.direct_num_workers) == (mode, workers)
    cores = os.cpu_count() or 1
    assert model_threads(options) == (
        max(1, cores // (workers or cores)) if mode == "multi_processing" else cores
    )


def test_other_runners_keep_their_options():
    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

    from recogenre.pipeline.runners import default_runner

    args = ["--runner=PortableRunner", "--job_endpoint=embed"]
    options = PipelineOptions(args)
    default_runner(options, args)
    assert options.view_as(StandardOptions).runner == "PortableRunner"
    assert options.view_as(DirectOptions).direct_running_mode == "in_memory"
