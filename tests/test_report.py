"""``recogenre report`` and ``classify --plot``: charts and the HTML page from real runs."""

from __future__ import annotations

import base64
import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.charts import numbered
from apps.report import build_report
from tests.conftest import AUDIO, ROOT, WEIGHTS, clip
from transforms import schemas
from transforms.genres import GENRES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The output of ``./run_local.sh ../shared/audio``: the same command, with the in-process runner."""
    out = tmp_path_factory.mktemp("report") / "output"
    proc = cli(
        "run",
        "--catalogue",
        str(AUDIO),
        "--output",
        str(out),
        "--weights",
        str(WEIGHTS),
        "--direct_num_workers=1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_report_has_every_chart_and_a_page_naming_every_track(out):
    proc = cli("report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = out / "latest" / "report"
    assert is_png(folder / "distribution.png")
    names = sorted(os.listdir(AUDIO))
    charts = sorted(p.name for p in (folder / "tracks").iterdir())
    assert len(charts) == 2 * len(names) and all(is_png(folder / "tracks" / c) for c in charts)
    for name in names:
        assert sum(c.startswith(name + "-") for c in charts) == 2, name  # its bar chart and its timeline

    page = (folder / "report.html").read_text()
    for name in names:
        assert html.escape(name) in page, name
    rows = re.search(r'<table class="sortable" id="tracks">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert rows.count("<tr>") == len(names)
    # self-contained: every image is embedded, nothing is fetched
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 1 + 2 * len(names)
    assert all(base64.b64decode(src.split(",", 1)[1])[:8] == PNG_MAGIC for src in images)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "<script>" in page and "aria-sort" in page  # the table sorter
    assert f"page: {(folder / 'report.html').resolve()}" in proc.stdout


def test_html_flag_and_chart_limit(out, tmp_path):
    page = tmp_path / "pages" / "catalogue.html"
    proc = cli("report", str(out), "--html", str(page), "--max-track-charts", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = page.read_text()
    assert len(re.findall(r"<img ", text)) == 1 + 2 * 2
    assert "first 2 of 9 tracks" in text
    assert all(html.escape(n) in text for n in os.listdir(AUDIO))  # the table still lists every track


def test_report_without_a_run_is_one_clear_message(tmp_path):
    proc = cli("report", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("recogenre: no run to report")


def test_silent_tracks_and_odd_names_are_drawn_and_escaped(tmp_path):
    """A run folder written with the output schemas: a silent track and a name that is markup."""
    run = tmp_path / "runs" / "r1"
    odd = '/music/<b>"Loud" & clear</b>.wav'
    vector = dict(zip(GENRES, [0.05] * 9 + [0.55]))
    tracks = [
        {"track_id": "a1", "path": odd, "duration_s": 40.0, "n_frames": 1, "n_silent_frames": 0, **vector},
        {
            "track_id": "b2",
            "path": "/music/quiet.wav",
            "duration_s": 60.0,
            "n_frames": 2,
            "n_silent_frames": 2,
        },
    ]
    tracks[0].update(top_genre="rock", top_score=0.55, label="rock")
    frames = [
        {"track_id": "a1", "frame_index": 0, "start_s": 0.0, "end_s": 29.12, "silent": False, **vector},
        {"track_id": "b2", "frame_index": 0, "start_s": 0.0, "end_s": 29.12, "silent": True},
        {"track_id": "b2", "frame_index": 1, "start_s": 29.12, "end_s": 58.24, "silent": True},
    ]
    for name, rows, schema in (
        ("tracks", tracks, schemas.TRACKS),
        ("frames", frames, schemas.FRAMES),
        ("errors", [], schemas.ERRORS),
    ):
        (run / name).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), run / name / "part-0.parquet")

    done = build_report(str(run), str(tmp_path / "charts"), str(tmp_path / "page.html"))
    assert done["tracks"] == 2 and done["charts"] == 5
    page = (tmp_path / "page.html").read_text()
    assert html.escape("<b>") in page and "<b>" not in page
    assert ">silent<" in page  # the silent track's genre cell
    assert len(list((tmp_path / "charts" / "tracks").glob("*.png"))) == 4


def test_classify_plot_draws_the_bar_chart(tmp_path):
    target = tmp_path / "genres_prediction.png"
    proc = cli("classify", "--weights", str(WEIGHTS), "--plot", str(target), clip("disco.00000.au"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert is_png(target) and sorted(os.listdir(tmp_path)) == ["genres_prediction.png"]
    assert proc.stdout.splitlines()[1].split()[0] == "disco"  # the listing is unchanged


def test_several_files_get_numbered_charts():
    assert numbered("out.png", 0, 1) == "out.png"
    assert [numbered("charts/out.png", i, 3) for i in range(3)] == [
        "charts/out-1.png",
        "charts/out-2.png",
        "charts/out-3.png",
    ]
