"""The HTML report of a library-sized run: page size, build time, and load time in headless chromium.

    .venv/bin/python benchmarks/report.py [TRACKS] [SCREENSHOT.png]

Generates a run snapshot of TRACKS tracks (default 10,000; the same
generator as tests/test_report.py), runs ``recogenre report`` on it, and
loads the page in Debian's ``chromium``: the wall time of a ``--dump-dom``
of the page against that of an empty page (browser start-up), and the
page's own figure for decoding its data and drawing the table.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.snapshots import CHROMIUM_FLAGS, write_snapshot  # noqa: E402


def load(url: str, profile: Path, *mode: str) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *(mode or ("--dump-dom",)), url],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return time.monotonic() - started, proc.stdout


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "output"
        started = time.monotonic()
        info = write_snapshot(out, n)
        print(f"snapshot: {n} tracks, {sum(info['n_frames'])} frames, {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "recogenre", "report", str(out)], check=True, cwd=ROOT)
        print(f"report: {time.monotonic() - started:.1f} s (including interpreter start-up)")
        page = out / "reports" / info["run"].name / "report.html"
        print(f"page: {page.stat().st_size / 1e6:.2f} MB")

        blank = Path(tmp) / "blank.html"
        blank.write_text("<!DOCTYPE html><title>blank</title>")
        profile = Path(tmp) / "profile"
        load(blank.as_uri(), profile)  # first start creates the profile
        empty = min(load(blank.as_uri(), profile)[0] for _ in range(3))
        loads = [load(page.as_uri(), profile) for _ in range(3)]
        best, dom = min(loads, key=lambda x: x[0])
        rows = len(re.findall(r'<tr data-i="', dom.split('<script type="application/json"', 1)[0]))
        figures = dict(re.findall(r'data-(render|ready|painted)-ms="(\d+)"', dom))
        print(
            f"chromium --dump-dom: {best:.2f} s for the page, {empty:.2f} s for an empty page "
            f"(start-up); {rows} rows"
        )
        print(
            f"in the page, from navigation start: table built at {figures.get('ready', '?')} ms "
            f"(its script {figures.get('render', '?')} ms), "
            f"first frame painted at {figures.get('painted', '?')} ms"
        )
        if len(sys.argv) > 2:
            load(page.as_uri() + "#t=5", profile, "--window-size=1400,900", f"--screenshot={sys.argv[2]}")
            print(f"screenshot: {sys.argv[2]}")


if __name__ == "__main__":
    main()
