"""Finding and verifying the CRNN weights.

The published GTZAN weights ship inside the package (``recogenre/weights/``,
the repository's ``weights/``), so an installed recogenre classifies out of
the box. Other weights are looked up first, in this order:

1. ``--weights PATH|NAME`` (any path Beam can open, or the name of a file in
   the user folder);
2. the environment variable ``RECOGENRE_WEIGHTS`` (the same forms);
3. the user folder, ``$XDG_DATA_HOME/recogenre/weights`` (default
   ``~/.local/share/recogenre/weights``): the first of :data:`USER_DEFAULTS`
   found there (``recogenre weights install`` puts files there);
4. the packaged ``crnn_gtzan_keras1.h5``.

Nothing is looked up relative to the current folder: a run must not pick up
weights because of where it was started. A file with the legacy Keras 1
layout must be the published one (sha256 :data:`LEGACY_SHA256`), so a run can
say exactly which weights produced its results.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from recogenre.analysis.logs import typed_error_text
from recogenre.analysis.paths import is_remote

LEGACY_NAME = "crnn_gtzan_keras1.h5"
LEGACY_SHA256 = "e6d7d9aa90eef37e84f604e122a7550a881d2e927a7aa9f6308ceb6b8c2063f2"
ENV_VAR = "RECOGENRE_WEIGHTS"
# The user folder's file that replaces the packaged weights, first found wins; the
# suffix tells the format (load_crnn: .keras archive, Keras 3 .weights.h5, Keras 1 .h5).
USER_DEFAULTS = ("default.keras", "default.weights.h5", LEGACY_NAME)
SUFFIXES = (".keras", ".weights.h5", ".h5")


class WeightsError(Exception):
    """Weights missing or not the expected file; ``str()`` tells the user what to do."""


@dataclass(frozen=True)
class Candidate:
    """One place the weights may come from: ``source`` says why it is looked at."""

    source: str  # "--weights", "RECOGENRE_WEIGHTS", "user folder", "package"
    path: str


def user_dir() -> Path:
    """``$XDG_DATA_HOME/recogenre/weights``, default ``~/.local/share/recogenre/weights``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "recogenre" / "weights"


def packaged_path() -> Path:
    """The published weights inside the installed package (the repository's ``weights/``)."""
    from importlib.resources import files

    return Path(str(files("recogenre.weights") / LEGACY_NAME))


def _named(value: str) -> str:
    """A bare name (no folder, no scheme) that is not a file here is a file of the user folder."""
    if is_remote(value) or os.sep in value or (os.altsep and os.altsep in value) or Path(value).exists():
        return value
    return str(user_dir() / value)


def candidate_list(flag: str | None = None) -> list[Candidate]:
    """Every place looked at, in order of precedence (the first that exists wins)."""
    places = []
    if flag:
        places.append(Candidate("--weights", _named(flag)))
    if os.environ.get(ENV_VAR):
        places.append(Candidate(ENV_VAR, _named(os.environ[ENV_VAR])))
    places += [Candidate("user folder", str(user_dir() / name)) for name in USER_DEFAULTS]
    places.append(Candidate("package", str(packaged_path())))
    return places


def candidates(flag: str | None = None) -> list[str]:
    """Where the weights are looked for, in order: an explicit choice is the only candidate."""
    places = candidate_list(flag)
    if places[0].source in ("--weights", ENV_VAR):
        return [places[0].path]  # a named file that is missing is an error, not a fall-through
    return [c.path for c in places]


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


def fetch(path: str, folder: str | None = None, suffix: str | None = None) -> str:
    """A local copy of a weights file on any Beam filesystem (gs://, s3://, https://, ...)."""
    from apache_beam.io.filesystems import FileSystems

    try:
        exists = FileSystems.exists(path)
    except Exception as e:  # no filesystem for the scheme (gs:// without recogenre[gcp]), no network
        if path.startswith("gs://") and isinstance(e, ValueError):
            raise WeightsError(f"cannot open {path}: gs:// needs pip install 'recogenre[gcp]'") from None
        raise WeightsError(f"cannot open {path}: {typed_error_text(e)}") from None
    if not exists:
        raise WeightsError(f"CRNN weights not found at {path}.")
    suffix = suffix or "".join(Path(path).suffixes[-2:])
    fd, local = tempfile.mkstemp(prefix=".recogenre-weights-", suffix=suffix, dir=folder)
    with os.fdopen(fd, "wb") as out, FileSystems.open(path) as src:
        shutil.copyfileobj(src, out)
    return local


def check_identity(shown: str, local: str, digest: str) -> None:
    """Legacy files must be the published one; anything else must be a Keras 3 file."""
    legacy = is_keras1_weights(local)
    if (legacy or Path(shown).name == LEGACY_NAME) and digest != LEGACY_SHA256:
        raise WeightsError(
            f"{shown} is not the published GTZAN CRNN: sha256 {digest}, expected {LEGACY_SHA256}. "
            f"Replace it with the original {LEGACY_NAME}, or remove it to use the packaged one."
        )
    if not legacy and not local.endswith((".keras", ".weights.h5")):
        raise WeightsError(
            f"{shown} is neither the legacy {LEGACY_NAME} nor a Keras 3 .keras/.weights.h5 file."
        )


def resolve_weights(flag: str | None = None) -> tuple[str, str]:
    """The local path of the weights to use and their sha256.

    Raises :class:`WeightsError` with one actionable message when the file is
    missing, or when a legacy Keras 1 file is not the published one.
    """
    tried = candidates(flag)
    found = next((p for p in tried if is_remote(p) or Path(p).is_file()), None)
    if found is None:
        raise WeightsError(
            f"CRNN weights not found (looked at: {', '.join(tried)}). Pass --weights PATH, "
            f"set {ENV_VAR}, or put a file into {user_dir()} with `recogenre weights install`."
        )
    local = fetch(found) if is_remote(found) else found
    digest = sha256_of(local)
    check_identity(found, local, digest)
    return local, digest


def resolve_on_worker(flag: str | None, expected_sha256: str) -> tuple[str, str]:
    """:func:`resolve_weights` on a Beam worker, which may be another machine.

    The launcher passes the local path it resolved; a remote worker (Dataflow, a Dask
    cluster) has recogenre installed elsewhere, so when that path does not exist there
    and the launcher used the published weights, the worker's own packaged copy is them.
    """
    if flag and not is_remote(flag) and not Path(flag).exists() and expected_sha256 == LEGACY_SHA256:
        flag = str(packaged_path())
    return resolve_weights(flag)
