"""AudioStream as of a git revision against the checkout's, on the same files, in one process.

    taskset -c 1 .venv/bin/python benchmarks/decode_before_after.py REV FILE_LIST [ROUNDS]

Loads ``analysis/decode.py`` of ``REV`` (e.g. the commit before a decoding change) beside
the current one and, for ROUNDS rounds (default 5), iterates ``AudioStream`` over every
file with each in turn, timing the iteration (``time.process_time``): min and median CPU
ms per audio second, and the largest sample difference between the two. Alternating in one
process keeps a shared machine's load from favouring either. Prints figures; asserts nothing.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_revision(rev: str, folder: str):
    source = subprocess.run(
        ["git", "show", f"{rev}:analysis/decode.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(folder) / "decode_at_revision.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("decode_at_revision", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["decode_at_revision"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def cpu_ms_per_audio_s(module, files: list[str]) -> tuple[float, list[np.ndarray]]:
    cpu = audio = 0.0
    outputs = []
    for f in files:
        with module.AudioStream(f) as stream:
            t0 = time.process_time()
            y = np.concatenate(list(stream))
            cpu += time.process_time() - t0
        audio += len(y) / 12_000
        outputs.append(y)
    return cpu / audio * 1000, outputs


def main(rev: str, list_file: str, rounds: int = 5) -> None:
    from recogenre.analysis import decode as current

    files = [f for f in Path(list_file).read_text().split("\n") if f]
    with tempfile.TemporaryDirectory() as tmp:
        before = load_revision(rev, tmp)
        runs: dict[str, list[float]] = {rev: [], "checkout": []}
        for _ in range(rounds):
            ms, old = cpu_ms_per_audio_s(before, files)
            runs[rev].append(ms)
            ms, new = cpu_ms_per_audio_s(current, files)
            runs["checkout"].append(ms)
    diff = max(
        float(np.abs(a - b).max()) if len(a) == len(b) else float("inf")
        for a, b in zip(old, new, strict=True)
    )
    for name, values in runs.items():
        print(
            f"{name:>10}: min {min(values):.3f}, median {statistics.median(values):.3f} "
            f"CPU ms per audio second ({rounds} rounds, {len(files)} files)"
        )
    print(f"largest sample difference: {diff:.2e} (inf: a file's length differs)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
