"""The launcher's check of weights and model files, before a run or a server starts.

A run that starts with weights its workers cannot use fails on every file
and must not get as far as replacing good results, so the launcher proves
the file usable first. It does so without TensorFlow for HDF5 weights (the
common case, and the launcher must start in seconds): every dataset the
loader will read must be present with the shape ``build_crnn()`` expects --
which fixes the (96, 1366, 1) -> (10,) shapes -- readable to its last byte,
and finite. A ``.keras`` archive is a whole model whose output shape only
Keras' own shape inference can tell, so after cheap checks of the archive
(intact zip, no Python code or unknown custom objects, which safe mode
refuses) it is loaded once with safe mode on.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recogenre.analysis.crnn_layout import (
    INPUT_SHAPE,
    OUTPUT_SHAPE,
    keras1_weight_shapes,
    keras3_weight_shapes,
)
from recogenre.analysis.logs import typed_error_text
from recogenre.analysis.weights import WeightsError, is_keras1_weights, resolve_weights

EXPECTED = f"the CRNN takes {INPUT_SHAPE} log-mel frames and gives {OUTPUT_SHAPE} scores"
OWN_PACKAGE = "recogenre"  # custom objects registered by analysis/crnn.py


class ModelCheckError(WeightsError):
    """The weights or model file cannot be used; ``str()`` names the file and the problem."""


def validated_weights(flag: str | None = None, load_keras: bool = True) -> tuple[str, str]:
    """``resolve_weights`` plus :func:`check_weights_file`: (local path, sha256) of usable weights."""
    local, digest = resolve_weights(flag)
    check_weights_file(local, load_keras=load_keras, shown=flag or local)
    return local, digest


def check_weights_file(path: str, load_keras: bool = True, shown: str | None = None) -> None:
    """Raises :class:`ModelCheckError` unless the file can give the CRNN's scores."""
    shown = shown or path
    if Path(path).suffix == ".keras":
        _check_keras_archive(path, shown, load_keras)
    elif is_keras1_weights(path):
        _check_h5(path, shown, keras1_weight_shapes())
    else:
        _check_h5(path, shown, keras3_weight_shapes())


def check_loaded_model(keras_model: Any, shown: str) -> None:
    """The input and output shapes of a loaded Keras model."""
    try:
        inputs, outputs = tuple(keras_model.input_shape), tuple(keras_model.output_shape)
    except Exception as e:  # several inputs or outputs: Keras gives lists or raises
        raise ModelCheckError(
            f"{shown}: the model has no single input and output ({e}); {EXPECTED}"
        ) from None
    if inputs[1:] != INPUT_SHAPE or outputs[1:] != OUTPUT_SHAPE:
        raise ModelCheckError(
            f"{shown}: the model maps {_fmt(inputs[1:])} to {_fmt(outputs[1:])}; {EXPECTED}"
        )


def _fmt(shape) -> str:
    return str(tuple(shape))


def _check_h5(path: str, shown: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    import h5py
    import numpy as np

    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise ModelCheckError(f"{shown}: not a readable HDF5 weights file (truncated or damaged?)") from None
    with h5:
        found: dict[str, Any] = {}

        def collect(name: str, obj: Any) -> None:  # a non-None return would stop the walk
            if isinstance(obj, h5py.Dataset):
                found[name] = obj

        h5.visititems(collect)
        wanted = dict(expected)
        missing = [name for name in wanted if name not in found]
        if missing:
            raise ModelCheckError(
                f"{shown}: not weights for this CRNN: {len(missing)} of {len(wanted)} weight arrays "
                f"missing (first: {missing[0]})"
            )
        extra = sorted(set(found) - set(wanted))
        if extra:
            raise ModelCheckError(f"{shown}: not weights for this CRNN: unexpected weight array {extra[0]}")
        for name, shape in expected:
            if tuple(found[name].shape) != shape:
                raise ModelCheckError(
                    f"{shown}: weight {name} has shape {_fmt(found[name].shape)}, expected {_fmt(shape)}; "
                    f"{EXPECTED}"
                )
            try:
                values = found[name][()]
            except (OSError, ValueError, KeyError) as e:
                raise ModelCheckError(
                    f"{shown}: weight {name} cannot be read (truncated or damaged?): {e}"
                ) from None
            if not np.isfinite(values).all():
                raise ModelCheckError(f"{shown}: weight {name} holds NaN or infinite values")


def _objects(node: Any) -> Iterator[dict]:
    """Every serialised Keras object (a dict with a ``class_name``) in a config tree."""
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def _refused_by_safe_mode(config: dict) -> str | None:
    for obj in _objects(config):
        name, module = obj.get("class_name"), obj.get("module") or ""
        if name in ("Lambda", "__lambda__"):
            return "it holds a Lambda layer (Python code), which safe mode refuses to load"
        if module == "builtins" and name == "function":
            ref = str(obj.get("config", ""))
            if ">" in ref and not ref.startswith(OWN_PACKAGE + ">"):
                return f"it uses the custom function {ref}, which recogenre does not know"
            continue
        if module and not module.startswith("keras") and name != "__keras_tensor__":
            return f"it uses the custom object {module}.{name}, which recogenre does not know"
        registered = obj.get("registered_name")
        if registered and ">" in str(registered) and not str(registered).startswith(OWN_PACKAGE + ">"):
            return f"it uses the custom object {registered}, which recogenre does not know"
    return None


def _check_keras_archive(path: str, shown: str, load_keras: bool) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, OSError, EOFError):
        raise ModelCheckError(f"{shown}: not a readable .keras archive (truncated or damaged?)") from None
    except KeyError:
        raise ModelCheckError(f"{shown}: not a .keras model archive (no config.json)") from None
    except ValueError:
        raise ModelCheckError(f"{shown}: the model's config.json is not valid JSON") from None
    if damaged:
        raise ModelCheckError(f"{shown}: the archive member {damaged} is damaged (checksum mismatch)")
    refused = _refused_by_safe_mode(config)
    if refused:
        raise ModelCheckError(f"{shown}: {refused}")
    inputs = [o for o in _objects(config) if o.get("class_name") == "InputLayer"]
    if len(inputs) == 1:
        shape = inputs[0].get("config", {}).get("batch_shape")
        if shape is not None and tuple(shape[1:]) != INPUT_SHAPE:
            raise ModelCheckError(f"{shown}: the model takes {_fmt(shape[1:])} input; {EXPECTED}")
    if load_keras:
        load_keras_model(path, shown)


def load_keras_model(path: str, shown: str) -> Any:
    """The ``.keras`` model loaded with safe mode on, or one line saying why it cannot be."""
    from recogenre.analysis.backends import KERAS_EXTRA, keras_available

    if not keras_available():
        raise ModelCheckError(
            f"{shown}: a .keras model needs TensorFlow and Keras: pip install '{KERAS_EXTRA}'"
        )
    from recogenre.analysis.crnn import load_crnn  # registers recogenre's custom objects

    try:
        model = load_crnn(path)
    except Exception as e:
        raise ModelCheckError(f"{shown}: Keras cannot load this model: {typed_error_text(e, 300)}") from None
    check_loaded_model(model, shown)
    return model
