"""The CRNN on OpenVINO: built once from the weights, cached, and run without TensorFlow.

OpenVINO's CPU plugin uses the matrix units of the CPU (AVX-512, and with
``bf16`` the AVX512-BF16/AMX units), imports in a fraction of a second and
costs a tenth of TensorFlow's memory. The Keras model stays the definition:
the OpenVINO model is the folded graph (``analysis/crnn_folded.py``),
built from the HDF5 weights with OpenVINO's opset API
(``analysis/openvino_graph.py``) and proven equal to the numpy port of the
definition (``analysis/crnn_numpy.py``) -- no TensorFlow -- and cached per
weights file and converter, since building and proving take seconds:

    $RECOGENRE_CACHE  (default $XDG_CACHE_HOME/recogenre, else ~/.cache/recogenre)
      crnn-<key>/model.xml, model.bin, model.json

``<key>`` hashes the weights' sha256, the OpenVINO version, the folded
graph's version and the source of the conversion code, so any of them
changing gives a new entry. ``model.json`` holds the sha256 of the .xml and
.bin; an entry that does not match it is rebuilt, never used. Entries are
written to a temporary folder and renamed into place, so concurrent workers
see either nothing or a whole entry. Nothing here imports TensorFlow, except
for a whole ``.keras`` model (converted from Keras, ``recogenre[keras]``).
``--precision int8`` uses a quantised copy of the entry, made and cached the
same way (``analysis/openvino_int8.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from recogenre.analysis.frames import N_MELS, N_STEPS
from recogenre.analysis.model_check import ModelCheckError
from recogenre.analysis.model_output import ModelOutput
from recogenre.analysis.weights import sha256_of

log = logging.getLogger(__name__)

CACHE_ENV = "RECOGENRE_CACHE"
# ours -> INFERENCE_PRECISION_HINT. int8: the quantised model (analysis/openvino_int8.py), whose
# layers NNCF left in float run in bf16 where the CPU has it (falls back to f32 like bf16).
PRECISIONS = {"fp32": "f32", "bf16": "bf16", "int8": "bf16"}
# The files whose code decides what the cached model computes.
_CONVERSION_SOURCES = (
    "openvino_model.py",
    "openvino_graph.py",
    "crnn_arrays.py",
    "crnn_numpy.py",
    "crnn_folded.py",
    "crnn.py",
)
CONVERTING = "converting the model for this machine (once, ~10 s)…"


class CacheError(RuntimeError):
    """A cache entry is missing, incomplete or does not match its checksums."""


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "recogenre"


def _openvino_version() -> str:
    # The installed distribution's version: the launcher checks the cache without importing
    # OpenVINO (0.2 s of CPU on the way to the first frame).
    from importlib.metadata import version

    return version("openvino")


def _code_digest() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _CONVERSION_SOURCES:
        h.update((here / name).read_bytes())
    return h.hexdigest()


def cache_key(weights_sha256: str) -> dict[str, str]:
    """What the converted model depends on (precision is applied when compiling, not here)."""
    from recogenre.analysis.version import RESULTS_VERSION

    return {
        "weights_sha256": weights_sha256,
        "openvino": _openvino_version(),
        "graph": f"folded-{_graph_version()}-results-{RESULTS_VERSION}",
        "code_sha256": _code_digest(),
    }


def _graph_version() -> str:
    # Read without importing crnn_folded (which imports Keras and TensorFlow).
    source = (Path(__file__).resolve().parent / "crnn_folded.py").read_text()
    line = next(line for line in source.splitlines() if line.startswith("GRAPH_VERSION ="))
    return line.split("=", 1)[1].split("#")[0].strip()


def entry_dir(weights_sha256: str) -> Path:
    key = cache_key(weights_sha256)
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return cache_root() / f"crnn-{name}"


def verify(entry: Path, weights_sha256: str, key: dict[str, str] | None = None) -> Path:
    """The entry's model.xml if its key (default: the converted model's) and checksums match;
    raises CacheError otherwise."""
    try:
        meta = json.loads((entry / "model.json").read_text())
    except (OSError, ValueError) as e:
        raise CacheError(f"{entry}: no readable model.json ({e})") from None
    if meta.get("key") != (key or cache_key(weights_sha256)):
        raise CacheError(f"{entry}: made for other weights or another converter")
    for name in ("model.xml", "model.bin"):
        try:
            digest = sha256_of(entry / name)
        except OSError as e:
            raise CacheError(f"{entry}: {name} unreadable ({e})") from None
        if digest != meta.get("sha256", {}).get(name):
            raise CacheError(f"{entry}: {name} does not match its checksum")
    return entry / "model.xml"


def convert(weights_path: str, target: Path) -> None:
    """Writes model.xml/.bin of the folded graph to ``target``, proven equal to a reference first.

    HDF5 weights (the published file, Keras 3 ``.weights.h5``) are read with h5py and built
    with OpenVINO's opset API (``analysis/openvino_graph.py``), checked against the numpy
    reference (``analysis/crnn_numpy.py``): no TensorFlow. A whole ``.keras`` model can
    hold any graph, so it is converted from Keras and checked against Keras
    (``recogenre[keras]``).
    """
    import openvino as ov

    if Path(weights_path).suffix == ".keras":
        model, expected = _from_keras(weights_path)
    else:
        from recogenre.analysis.crnn_arrays import fold_layer_weights, read_layer_weights
        from recogenre.analysis.crnn_numpy import forward
        from recogenre.analysis.openvino_graph import build_model

        layers = read_layer_weights(weights_path)
        model = build_model(fold_layer_weights(layers))
        expected = lambda probe: forward(layers, probe)  # noqa: E731
    _prove_equal(expected, ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}))
    ov.save_model(model, str(target / "model.xml"), compress_to_fp16=False)


def _from_keras(weights_path: str):
    """(the OpenVINO model converted from the Keras folded graph, the Keras reference's outputs)."""
    import warnings

    import openvino as ov

    from recogenre.analysis.backends import KERAS_EXTRA, keras_available

    if not keras_available():
        raise ModelCheckError(f"a .keras model needs TensorFlow and Keras: pip install '{KERAS_EXTRA}'")
    from recogenre.analysis.crnn import load_crnn
    from recogenre.analysis.crnn_folded import fold, with_embedding

    reference = load_crnn(weights_path)
    example = np.zeros((1, N_MELS, N_STEPS, 1), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # keras' input-structure notice during tracing
        model = ov.convert_model(fold(reference), example_input=example)
    model.reshape([-1, N_MELS, N_STEPS, 1])
    return model, with_embedding(reference).predict_on_batch


PROBE_TOLERANCE = 1e-4


def output_indices(compiled) -> tuple[int, int]:
    """(scores, embedding) output positions of the compiled model, told apart by their width."""
    from recogenre.analysis.crnn_layout import GRU_UNITS
    from recogenre.analysis.genres import GENRES

    widths = [o.get_partial_shape()[-1].get_length() for o in compiled.outputs]
    if len(widths) != 2 or sorted(widths) != sorted((len(GENRES), GRU_UNITS)):
        raise CacheError(f"the converted model has outputs of widths {widths}, not scores and an embedding")
    return widths.index(len(GENRES)), widths.index(GRU_UNITS)


def _prove_equal(reference, compiled) -> None:
    """The converted model must give the reference's scores on a probe frame before it is cached.

    ``reference(probe)`` gives (scores, embedding) of the definition: the numpy port
    for HDF5 weights, Keras for a ``.keras`` model. Weights that make the reference
    answer NaN (diverged training, say) do not make OpenVINO's CPU kernels answer NaN:
    they give finite nonsense. So every conversion is checked against the definition
    once, and weights the reference cannot score are refused before any file is
    classified. The embedding (gru2's outputs, in [-1, 1] like the scores' range) is
    held to the same tolerance.
    """
    probe = np.random.default_rng(2016).normal(-20.0, 15.0, (1, N_MELS, N_STEPS, 1)).astype(np.float32)
    with np.errstate(all="ignore"):  # absurd weights overflow: refused just below
        expected = [np.asarray(a, np.float64) for a in reference(probe)]
    if not all(np.isfinite(a).all() for a in expected):
        raise ModelCheckError(
            "these weights give NaN or infinite scores (the reference CRNN on a probe frame)"
        )
    result = compiled(probe)
    for what, index, want in zip(("scores", "embedding"), output_indices(compiled), expected):
        worst = float(np.max(np.abs(np.asarray(result[index], np.float64) - want)))
        if not worst <= PROBE_TOLERANCE:
            raise ModelCheckError(
                f"the OpenVINO model's {what} differ from the reference CRNN by {worst:.2g} on a probe frame"
            )


def ensure_cached(weights_path: str, weights_sha256: str) -> Path:
    """The verified model.xml for these weights, converting (once, atomically) when needed."""
    return cached_entry(
        entry_dir(weights_sha256),
        weights_sha256,
        cache_key(weights_sha256),
        lambda tmp: convert(weights_path, tmp),
        CONVERTING,
    )


def cached_entry(entry: Path, weights_sha256: str, key: dict[str, str], build, notice: str) -> Path:
    """The verified model.xml of ``entry``, made by ``build(folder)`` (once, atomically) when needed."""
    try:
        return verify(entry, weights_sha256, key)
    except CacheError as e:
        if entry.exists():
            log.warning("rebuilding the OpenVINO model cache: %s", e)
    root = entry.parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        print(notice, file=sys.stderr, flush=True)  # a notice for whoever waits, parsed by nothing
        build(tmp)
        meta = {
            "key": key,
            "sha256": {n: sha256_of(tmp / n) for n in ("model.xml", "model.bin")},
        }
        (tmp / "model.json").write_text(json.dumps(meta, indent=1))
        if entry.exists():  # stale or corrupt: move it aside first, then remove it
            aside = Path(tempfile.mkdtemp(prefix=".old-", dir=root))
            with contextlib.suppress(OSError):  # another process moved it already
                os.rename(entry, aside / "entry")
            shutil.rmtree(aside, ignore_errors=True)
        with contextlib.suppress(OSError):  # another process published first: theirs must verify
            os.rename(tmp, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return verify(entry, weights_sha256, key)


_bf16_notice = threading.Lock()
_bf16_noticed = False


def _hint(core, precision: str) -> str:
    """The INFERENCE_PRECISION_HINT for ``precision`` on this CPU (bf16 falls back to f32, said once)."""
    global _bf16_noticed
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    has_bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if PRECISIONS[precision] == "bf16" and not has_bf16:
        with _bf16_notice:
            if not _bf16_noticed:
                log.warning("this CPU has no bf16 units: running the CRNN's float layers in fp32 instead")
                _bf16_noticed = True
        return "f32"
    return PRECISIONS[precision]


class OpenVinoModel:
    """The compiled CRNN; one per process (compiling costs a fraction of a second)."""

    def __init__(self, xml_path: str | Path, precision: str = "fp32", threads: int | None = None):
        import openvino as ov

        core = ov.Core()
        # fp32 must be asked for: on bf16-capable CPUs OpenVINO defaults to bf16.
        # No CPU pinning: OpenVINO pins a one-thread model to the first core, so every
        # worker process of a run classified on core 0 while the others only decoded
        # (measured: 58-64 % of the machine's limit; benchmarks/ov_settings.py shows the pinning).
        config = {
            "INFERENCE_PRECISION_HINT": _hint(core, precision),
            "NUM_STREAMS": 1,
            "ENABLE_CPU_PINNING": False,
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = core.compile_model(core.read_model(str(xml_path)), "CPU", config)
        self.precision = precision
        self._outputs = output_indices(self.compiled)
        self._request = self.compiled.create_infer_request()
        self._lock = threading.Lock()  # one infer request: callers from several threads take turns

    def infer(self, x: np.ndarray) -> ModelOutput:
        """Raw sigmoid scores (n, 10) and embeddings (n, 32) for log-mel frames (n, 96, 1366, 1), one call."""
        scores, embeddings = self._outputs
        with self._lock:
            result = self._request.infer({0: np.ascontiguousarray(x, dtype=np.float32)})
            # copies: the request reuses its buffers
            return ModelOutput(np.array(result[scores], np.float32), np.array(result[embeddings], np.float32))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Raw sigmoid scores (n, 10) for channels-last log-mel frames (n, 96, 1366, 1)."""
        return self.infer(x).scores


def load(weights_path: str, weights_sha256: str, precision: str = "fp32", threads: int | None = None):
    """The OpenVINO model for these weights, from the cache (built, or quantised, first if needed)."""
    if precision == "int8":
        from recogenre.analysis.openvino_int8 import ensure_quantised

        return OpenVinoModel(ensure_quantised(weights_path, weights_sha256), precision, threads)
    return OpenVinoModel(ensure_cached(weights_path, weights_sha256), precision, threads)
