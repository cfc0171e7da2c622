"""``--precision int8``: the OpenVINO model quantised once per machine with NNCF, proven, cached.

Post-training quantisation (NNCF, ``recogenre[int8]``) of the converted fp32 model
(``analysis/openvino_model.py``), calibrated on synthesised frames
(``analysis/int8_calibration.py``: no audio ships with the project). Symmetric
activations (NNCF's PERFORMANCE preset): measured faster than the MIXED preset's
asymmetric ones on this CPU (with those, int8 ran slower than bf16) and no less
accurate. Leaving the first convolution or the GRUs' matmuls in float (an
``IgnoredScope``) did not improve the agreement (benchmarks/int8.py, docs/performance.md).
The layers NNCF keeps in float run in bf16 where the CPU has it.

Like the conversion, quantisation is checked before it is cached: on probe frames
every machine can make (synthesised with another seed than the calibration set's),
the int8 model's scores must stay within :data:`PROBE_MAX_DIFF` of the fp32
model's, and its top genre must agree on at least :data:`PROBE_MIN_AGREEMENT` of
them; otherwise the run is refused in one line. The entry lives beside the fp32
one, keyed by it plus NNCF's version and this code:

    <cache>/crnn-<key>-int8/model.xml, model.bin, model.json
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from recogenre.analysis.model_check import ModelCheckError

QUANTISING = "quantising the model to int8 for this machine (once, ~1 minute)…"
# The files whose code decides what the quantised model computes.
_QUANTISATION_SOURCES = ("openvino_int8.py", "int8_calibration.py", "melspec.py", "frames.py")
PROBE_SEED = 7  # not the calibration set's seed: the probe is frames quantisation never saw
PROBE_FRAMES = 16
# Guards against a broken quantisation (a wrong range, a layer gone to zero: outputs off by ~1,
# top genres at chance), not a promise of accuracy: benchmarks/int8.py measures the agreement on
# real music. Measured on the probe: 75 % (12 of 16) and 0.45 -- synthesised frames sit further
# from what the model was trained on than music, and move more.
PROBE_MAX_DIFF = 0.6
PROBE_MIN_AGREEMENT = 0.6


def nncf_available() -> bool:
    """Whether the ``int8`` extra is installed (found without importing NNCF)."""
    from importlib.util import find_spec

    return find_spec("nncf") is not None


def _nncf_version() -> str:
    from importlib.metadata import version

    return version("nncf")


def quantised_key(weights_sha256: str) -> dict[str, str]:
    """The fp32 entry's key plus what quantisation depends on."""
    from recogenre.analysis.openvino_model import cache_key

    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _QUANTISATION_SOURCES:
        h.update((here / name).read_bytes())
    return {**cache_key(weights_sha256), "nncf": _nncf_version(), "int8_code_sha256": h.hexdigest()}


def quantised_dir(weights_sha256: str) -> Path:
    from recogenre.analysis.openvino_model import entry_dir

    fp32 = entry_dir(weights_sha256)
    return fp32.with_name(fp32.name + "-int8")


def ensure_quantised(weights_path: str, weights_sha256: str) -> Path:
    """The verified int8 model.xml for these weights, quantising (once, atomically) when needed."""
    from recogenre.analysis.openvino_model import cached_entry, ensure_cached

    fp32_xml = ensure_cached(weights_path, weights_sha256)
    return cached_entry(
        quantised_dir(weights_sha256),
        weights_sha256,
        quantised_key(weights_sha256),
        lambda tmp: quantise(fp32_xml, tmp),
        QUANTISING,
    )


def quantise_model(model, frames: np.ndarray):
    """``model`` (an ``openvino.Model`` of the CRNN) with its convolutions quantised to int8."""
    import logging

    import nncf

    logging.getLogger("nncf").setLevel(logging.WARNING)  # its per-layer INFO lines are for developers
    dataset = nncf.Dataset(list(frames), lambda frame: frame[np.newaxis, :, :, np.newaxis])
    return nncf.quantize(
        model,
        dataset,
        preset=nncf.QuantizationPreset.PERFORMANCE,
        subset_size=len(frames),
    )


def quantise(fp32_xml: Path, target: Path) -> None:
    """Writes the int8 model.xml/.bin to ``target``, proven close to the fp32 model first."""
    import openvino as ov

    from recogenre.analysis.backends import INT8_MISSING
    from recogenre.analysis.int8_calibration import calibration_frames

    if not nncf_available():
        raise ModelCheckError(INT8_MISSING)
    core = ov.Core()
    model = quantise_model(core.read_model(str(fp32_xml)), calibration_frames())
    probe = calibration_frames(PROBE_FRAMES, PROBE_SEED)
    compare(
        scores(core.compile_model(str(fp32_xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}), probe),
        scores(core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"}), probe),
    )
    ov.save_model(model, str(target / "model.xml"), compress_to_fp16=False)


def scores(compiled, frames: np.ndarray, batch: int = 4) -> np.ndarray:
    """The compiled CRNN's scores (n, 10) for log-mel frames (n, 96, 1366)."""
    from recogenre.analysis.openvino_model import output_indices

    at = output_indices(compiled)[0]
    return np.concatenate(
        [compiled(frames[i : i + batch, ..., np.newaxis])[at] for i in range(0, len(frames), batch)]
    )


def agreement(want: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    """(fraction of frames with the same top genre, largest |score difference|)."""
    same = float(np.mean(want.argmax(axis=1) == got.argmax(axis=1)))
    return same, float(np.max(np.abs(np.asarray(got, np.float64) - want)))


def compare(fp32: np.ndarray, int8: np.ndarray) -> None:
    """Raises :class:`ModelCheckError` unless the int8 scores pass the probe's bounds."""
    same, worst = agreement(fp32, int8)
    if not (np.isfinite(int8).all() and worst <= PROBE_MAX_DIFF and same >= PROBE_MIN_AGREEMENT):
        raise ModelCheckError(
            f"the int8 model differs from the fp32 model on probe frames (top genre agrees on "
            f"{same:.0%}, scores differ by up to {worst:.2g}): use --precision bf16 or fp32"
        )
