"""A full run against a no-change nightly run over the same catalogue.

    .venv/bin/python benchmarks/incremental.py [SETS]

Uses SETS copies (default 8) of the shared clips, as in the main benchmark,
and prints both wall times and their ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from catalogue import SHARED_AUDIO, audio_files  # noqa: E402


def timed_run(catalogue: Path, out: Path, *extra: str) -> tuple[float, dict]:
    cmd = [
        sys.executable,
        "-m",
        "recogenre",
        "run",
        "--catalogue",
        str(catalogue),
        "--output",
        str(out),
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=0",
        "--progress-seconds=0",
        *extra,
    ]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return wall, json.loads((out / "latest" / "manifest.json").read_text())


def main(sets: int) -> None:
    work = HERE / "work"
    work.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        catalogue = Path(tmp) / "library"
        for k in range(sets):
            (catalogue / f"set{k:02d}").mkdir(parents=True)
            for clip in audio_files(SHARED_AUDIO):
                if clip.suffix != ".md":
                    (catalogue / f"set{k:02d}" / clip.name).write_bytes(clip.read_bytes())
        out = Path(tmp) / "out"
        full, m1 = timed_run(catalogue, out)
        again, m2 = timed_run(catalogue, out)
    print(f"catalogue: {m1['counts']['inputs']} files, {m1['audio_hours']:.2f} h of audio")
    print(f"full run:        {full:6.1f} s wall, {m1['counts']['decoded']} files decoded")
    print(
        f"no-change run:   {again:6.1f} s wall, {m2['counts']['decoded']} files decoded, "
        f"{m2['counts']['unchanged']} carried over"
    )
    print(f"ratio full / no-change: {full / again:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
