"""``recogenre tag --export CSV``: where the export may go, and writing it safely.

The export is the one file ``tag`` writes outside the music files, and a dry
run writes nothing else, so a mistyped path must not cost the user a file:

- an existing file is never replaced unless ``--force`` is given;
- a path inside the catalogue (the run's catalogue folder, or any folder holding
  one of its tracks, or the catalogue file itself) or inside the output folder is
  refused, with or without ``--force``: those files belong to the library and to
  recogenre;
- the CSV is written to a temporary file in the same folder and moved into place
  in one step, so a reader never sees half a file and a failure leaves nothing.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable

from recogenre.analysis.paths import is_remote, to_os_path


class ExportRefused(ValueError):
    """The export path is not one ``tag`` may write to; ``str()`` says why, in one line."""


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # one relative, one absolute, or different drives
        return False


def protected_places(
    out: str, track_paths: Iterable[str], catalogue: str | None
) -> tuple[set[str], set[str]]:
    """(folders, files) the export may not be written into or onto, as real OS paths.

    ``catalogue`` is the run's catalogue as its manifest names it (absolute paths only;
    a relative one says nothing about where it was).
    """
    folders = {os.path.realpath(out)}
    files: set[str] = set()
    for path in track_paths:
        if not is_remote(path):
            folders.add(os.path.realpath(os.path.dirname(to_os_path(path))))
    if catalogue and not is_remote(catalogue) and os.path.isabs(to_os_path(catalogue)):
        from recogenre.analysis.listing import has_glob, split_glob

        local = to_os_path(catalogue)
        if os.path.isdir(local):
            folders.add(os.path.realpath(local))
        elif os.path.lexists(local):
            files.add(os.path.realpath(local))
        elif has_glob(catalogue):
            folders.add(os.path.realpath(to_os_path(split_glob(catalogue)[0])))
    return folders, files


def check_target(target: str, folders: set[str], files: set[str], force: bool) -> str:
    """The export path as a real OS path, or ExportRefused saying why it may not be written."""
    real = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(target))), os.path.basename(target))
    if os.path.islink(real):  # the file a link names is what would be replaced
        real = os.path.realpath(real)
    if not os.path.basename(target):
        raise ExportRefused(f"--export {target}: names a folder, not a CSV file")
    for folder in sorted(folders):
        if _inside(real, folder):
            raise ExportRefused(
                f"--export {target}: inside {folder}, which belongs to the catalogue or the output folder; "
                "choose a path outside both"
            )
    if real in files:
        raise ExportRefused(f"--export {target}: that is the run's catalogue file")
    if os.path.isdir(real):
        raise ExportRefused(f"--export {target}: is a folder")
    if os.path.lexists(target) and not force:
        raise ExportRefused(f"--export {target}: the file exists; --force replaces it")
    return real


def write_csv(target: str, rows: Iterable[tuple[str, str, float | None]], force: bool) -> None:
    """path,genre,confidence to ``target`` (checked by :func:`check_target`), atomically.

    Paths as the OS names them (non-UTF-8 bytes written as they are). Without
    ``force`` the file is put in place with a hard link, which fails rather than
    replace a file that appeared since the check.
    """
    folder = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(folder, f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "x", newline="", encoding="utf-8", errors="surrogateescape") as f:
            out = csv.writer(f)
            out.writerow(["path", "genre", "confidence"])
            for path, genre, confidence in rows:
                out.writerow([to_os_path(path), genre, "" if confidence is None else f"{confidence:.6f}"])
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise ExportRefused(f"--export {target}: the file exists; --force replaces it") from None
            except OSError:  # a filesystem without hard links
                if os.path.lexists(target):
                    raise ExportRefused(f"--export {target}: the file exists; --force replaces it") from None
                os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
