"""Finding and verifying the CRNN weights, which are never part of the repository.

The legacy file is looked up in a fixed order (flag, environment, the
checkout's ``weights/``, then ``../shared/weights/`` beside the checkout) and
checked against the sha256 recorded in ``weights/README.md``, so a run can
say exactly which weights produced its results.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

LEGACY_NAME = "crnn_gtzan_keras1.h5"
LEGACY_SHA256 = "e6d7d9aa90eef37e84f604e122a7550a881d2e927a7aa9f6308ceb6b8c2063f2"
ENV_VAR = "RECOGENRE_WEIGHTS"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class WeightsError(Exception):
    """Weights missing or not the expected file; ``str()`` tells the user what to do."""


def candidates(flag: str | None = None) -> list[str]:
    """Where the weights are looked for, in order of precedence."""
    if flag:
        return [flag]
    if os.environ.get(ENV_VAR):
        return [os.environ[ENV_VAR]]
    places = []
    for root in dict.fromkeys([PROJECT_ROOT, Path.cwd()]):
        places += [root / "weights" / LEGACY_NAME, root.parent / "shared" / "weights" / LEGACY_NAME]
    return [str(p) for p in dict.fromkeys(places)]


def is_keras1_weights(path: str | Path) -> bool:
    """True for the legacy HDF5 layout (top-level ``layer_names``, no ``model_config``)."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return "layer_names" in h5.attrs and "model_config" not in h5.attrs
    except OSError:
        return False


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(path: str) -> str:
    """A local copy of a weights file on any Beam filesystem (gs://, s3://, ...)."""
    from apache_beam.io.filesystems import FileSystems

    if not FileSystems.exists(path):
        raise WeightsError(f"CRNN weights not found at {path}.")
    suffix = "".join(Path(path).suffixes[-2:])
    fd, local = tempfile.mkstemp(prefix="recogenre-weights-", suffix=suffix)
    with os.fdopen(fd, "wb") as out, FileSystems.open(path) as src:
        shutil.copyfileobj(src, out)
    return local


def resolve_weights(flag: str | None = None) -> tuple[str, str]:
    """The local path of the weights to use and their sha256.

    Raises :class:`WeightsError` with one actionable message when the file is
    missing, or when a legacy Keras 1 file is not the published one.
    """
    tried = candidates(flag)
    found = next((p for p in tried if "://" in p or Path(p).is_file()), None)
    if found is None:
        raise WeightsError(
            f"CRNN weights not found (looked at: {', '.join(tried)}). "
            f"Put {LEGACY_NAME} (sha256 {LEGACY_SHA256}) in weights/, set {ENV_VAR}, "
            "or pass --weights PATH; weights/README.md says where it comes from."
        )
    local = _fetch(found) if "://" in found else found
    digest = sha256_of(local)
    legacy = is_keras1_weights(local)
    if (legacy or Path(found).name == LEGACY_NAME) and digest != LEGACY_SHA256:
        raise WeightsError(
            f"{found} is not the published GTZAN CRNN: sha256 {digest}, expected {LEGACY_SHA256}. "
            f"Replace it with the original {LEGACY_NAME} (see weights/README.md)."
        )
    if not legacy and not local.endswith((".keras", ".weights.h5")):
        raise WeightsError(
            f"{found} is neither the legacy {LEGACY_NAME} nor a Keras 3 .keras/.weights.h5 file."
        )
    return local, digest
