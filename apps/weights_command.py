"""``recogenre weights``: which weights a run would use, and putting others where it looks.

* ``list``: every place looked at (``analysis/weights.py`` holds the order),
  what is there with its sha256, and which file wins;
* ``install PATH|URL --name NAME``: a checked copy in the user folder
  (``https://`` and ``gs://`` through Beam's filesystems), written to a
  temporary file in that folder and renamed into place, so a run never sees
  half a file;
* ``verify FILE``: the checks a run makes before it starts (the published
  sha256 for the legacy layout, every weight array present with the shape the
  CRNN needs, readable and finite).

Problems end in one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from recogenre.analysis import weights
from recogenre.analysis.logs import say
from recogenre.analysis.paths import is_remote
from recogenre.analysis.weights import WeightsError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="weights_command", required=True, parser_class=type(p))
    s = sub.add_parser("list", help="where weights are looked for, what is there, and which file wins")
    s.add_argument("--weights", metavar="PATH", help="also show what this --weights value would do")
    s = sub.add_parser("install", help="copy a weights file into the user folder after checking it")
    s.add_argument("source", metavar="PATH|URL", help="a local file, or an https:// or gs:// URL")
    s.add_argument(
        "--name",
        required=True,
        help="file name in the user folder (the source's suffix is added when NAME has none); "
        f"{weights.USER_DEFAULTS[0].split('.')[0]} replaces the packaged weights",
    )
    s.add_argument("--force", action="store_true", help="replace a different file of that name")
    s = sub.add_parser("verify", help="check that a file is usable CRNN weights")
    s.add_argument("file", metavar="FILE", help="a local file, or a URL Beam can open")


@dataclass(frozen=True)
class Found:
    """A place of the lookup and what is there (``sha256`` None when nothing is)."""

    source: str
    path: str
    sha256: str | None
    used: bool


def survey(flag: str | None = None) -> list[Found]:
    """Every place of the lookup, in order, with the file the lookup picks marked ``used``."""
    # the lookup's own rule: an explicit choice (--weights, the variable) is the only candidate
    winner = next((p for p in weights.candidates(flag) if is_remote(p) or Path(p).is_file()), None)
    seen: dict[str, Found] = {}
    for place in weights.candidate_list(flag):
        if place.path not in seen:
            local = not is_remote(place.path) and Path(place.path).is_file()
            digest = weights.sha256_of(place.path) if local else None
            seen[place.path] = Found(place.source, place.path, digest, place.path == winner)
    folder = weights.user_dir()
    if folder.is_dir():  # files installed by name: usable with --weights NAME
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith(".") and str(path) not in seen:
                digest = weights.sha256_of(path)
                seen[str(path)] = Found("user folder (--weights NAME)", str(path), digest, False)
    return list(seen.values())


def _list(args: argparse.Namespace) -> int:
    for found in survey(args.weights):
        mark = "*" if found.used else " "
        what = found.sha256 or ("remote" if is_remote(found.path) else "absent")
        print(f"{mark} {found.source:<28} {what:<64} {found.path}")
    try:
        path, digest = weights.resolve_weights(args.weights)
    except WeightsError as e:
        return _fail(str(e))
    print(f"used: {args.weights or path} (sha256 {digest})")
    return 0


def installed_name(name: str, source: str) -> str:
    """NAME, with the source's suffix when NAME has none of the known ones."""
    if os.sep in name or (os.altsep and os.altsep in name) or name in ("", ".", ".."):
        raise WeightsError(f"--name must be a file name, not a path: {name!r}")
    if name.endswith(weights.SUFFIXES):
        return name
    suffix = next((s for s in weights.SUFFIXES if source.endswith(s)), None)
    if suffix is None:
        raise WeightsError(f"{source}: not a .keras, .weights.h5 or .h5 file")
    return name + suffix


def check_file(local: str, shown: str) -> str:
    """The file's sha256 once it passes the checks a run makes; raises WeightsError otherwise."""
    from recogenre.analysis.backends import keras_available
    from recogenre.analysis.model_check import check_weights_file

    digest = weights.sha256_of(local)
    weights.check_identity(shown, local, digest)
    check_weights_file(local, load_keras=keras_available(), shown=shown)
    return digest


def install(source: str, name: str, force: bool = False) -> tuple[Path, str]:
    """(installed path, sha256): the checked file, renamed into the user folder in one step."""
    target = weights.user_dir() / installed_name(name, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    if is_remote(source):
        tmp = weights.fetch(source, folder=str(target.parent), suffix=target.name)
    else:
        if not Path(source).is_file():
            raise WeightsError(f"{source}: no such file")
        fd, tmp = tempfile.mkstemp(prefix=".recogenre-weights-", suffix=target.name, dir=target.parent)
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
    try:
        digest = check_file(tmp, shown=source)  # the temporary name ends like the final one: same format
        if target.exists() and not force and weights.sha256_of(target) != digest:
            raise WeightsError(f"{target} exists and is a different file (--force replaces it)")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target, digest


def _install(args: argparse.Namespace) -> int:
    try:
        target, digest = install(args.source, args.name, args.force)
    except WeightsError as e:
        return _fail(str(e))
    print(f"installed {target} (sha256 {digest})")
    return 0


def _verify(args: argparse.Namespace) -> int:
    local = args.file
    try:
        if is_remote(args.file):
            local = weights.fetch(args.file)
        elif not Path(args.file).is_file():
            raise WeightsError(f"{args.file}: no such file")
        digest = check_file(local, shown=args.file)
    except WeightsError as e:
        return _fail(str(e))
    finally:
        if local != args.file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(local)
    kind = "the published GTZAN CRNN" if digest == weights.LEGACY_SHA256 else "CRNN weights"
    print(f"{args.file}: ok, {kind} (sha256 {digest})")
    return 0


def _fail(message: str) -> int:
    say(message)
    return 2


def main(args: argparse.Namespace) -> int:
    return {"list": _list, "install": _install, "verify": _verify}[args.weights_command](args)
