"""Which error rows a nightly run carries over instead of trying the file again.

A file that failed because of what its bytes hold (empty, not audio, corrupt)
fails the same way until it changes, so while its size and mtime stay the same
its error row is carried over (change ``unchanged_error``) and the file is not
decoded (transforms/incremental.py). ``run --retry-errors`` tries them all
again once, and a new results version (analysis/version.py) starts from no
snapshot at all, so every file is tried again.

Every other error is tried again on every run, because it can go away without
the file changing:

- ``unreadable``, ``missing``, ``not_a_file``, ``directory``: permissions,
  mounts and links change without touching the file's size or mtime;
- stage ``read`` (a folder that cannot be listed, a duplicate ``track_id`` in a
  catalogue file): decided by the listing or the catalogue, every run;
- stage ``classify``: the model or the worker failed, not the file;
- a decoder failure named by its exception type (``MemoryError``, ...): it may
  be the machine's doing, so it is not trusted to last;
- ``too_long`` is about the file, but measured against ``--max-duration``: the
  launcher retries those when the limit differs from the previous run's.
"""

from __future__ import annotations

DECODE_STAGE = "decode"
CONTENT_ERRORS = frozenset({"empty", "not_audio", "corrupt", "too_long"})


def stays_an_error(previous: dict, retry_types: frozenset[str] = frozenset()) -> bool:
    """Whether ``previous`` (an ``errors`` row) is about the file's content, so that the file,
    unchanged, would fail the same way; ``retry_types``: error types to try again anyway."""
    return (
        previous.get("stage") == DECODE_STAGE
        and previous.get("error_type") in CONTENT_ERRORS - retry_types
        and previous.get("size_bytes") is not None
        and previous.get("mtime") is not None
    )
