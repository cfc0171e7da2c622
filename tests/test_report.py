"""``recogenre report`` and ``classify --plot``: the page from real runs and from a 10,000-track library.

The page is checked in a real headless browser (Debian's ``chromium``): the
table, the filter and the per-track charts are drawn by the page's own
script, so only a browser can show that they work. Without chromium these
tests fail rather than skip -- a report nobody has seen render is not tested.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recogenre.analysis import schemas
from recogenre.analysis.genres import GENRES
from recogenre.analysis.paths import canonical_root
from recogenre.apps.charts import numbered
from recogenre.apps.evaluate import genre_of
from recogenre.apps.report import build_report
from recogenre.pipeline import layout
from tests.conftest import AUDIO, ROOT, WEIGHTS, clip, unstamped
from tests.snapshots import CHROMIUM_FLAGS, ODD_NAME, write_snapshot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LIBRARY_TRACKS = 10_000
MAX_PAGE_BYTES = 5_000_000


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recogenre", *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> tuple[str, Path]:
    """Debian's chromium and a throw-away profile; missing chromium is a failure, not a skip."""
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
    )
    if path is None:
        pytest.fail(
            "chromium is not installed (apt-get install chromium); the report tests need a real browser"
        )
    return path, tmp_path_factory.mktemp("chromium-profile")


def chromium(browser: tuple[str, Path], url: str, *mode: str) -> str:
    """Loads ``url`` headless, offline and without a first-run, then dumps the DOM or screenshots."""
    path, profile = browser
    proc = subprocess.run(
        [
            path,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            *(mode or ("--dump-dom",)),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def drawn(dom: str) -> str:
    """The dumped DOM without the page's own data and script (whose text holds the same markup)."""
    return dom.split('<script type="application/json"', 1)[0]


def table_rows(dom: str) -> list[str]:
    body = re.search(r'<table id="tracks"[^>]*>.*?<tbody>(.*?)</tbody>', drawn(dom), re.S)
    assert body, dom[:2000]
    return re.findall(r'<tr data-i="(\d+)"', body.group(1))


def detail_frames(dom: str) -> set[str]:
    """The frame_index values the opened track's timeline draws a column for."""
    timeline = re.search(r'<div id="timeline">(.*?)</div>', drawn(dom), re.S)
    assert timeline, "no timeline drawn"
    return set(re.findall(r"<title>frame_index (\d+),", timeline.group(1)))


def page_data(page: str) -> dict:
    return json.loads(
        re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page).group(1)
    )


# ---- a real run of the nine shared clips ----


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


def test_report_of_a_real_run_lives_beside_the_runs_and_draws_a_track_on_demand(out, browser):
    proc = cli("report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_id = Path(os.readlink(out / "latest")).name
    folder = out / "reports" / run_id
    assert is_png(folder / "distribution.png") and not (folder / "tracks").exists()
    page = (folder / "report.html").read_text()
    assert f"page: {(folder / 'report.html').resolve()}" in proc.stdout

    names = sorted(os.listdir(AUDIO))
    data = page_data(page)
    assert sorted(data["tracks"]["name"]) == names
    assert html.escape(canonical_root(str(AUDIO))) in page  # the catalogue, absolute and canonical
    assert "<img" not in page and "http://" not in page and "https://" not in page and "<link" not in page

    tracks = pq.read_table(out / "latest" / "tracks").to_pandas().sort_values("path", kind="stable")
    tracks = tracks.reset_index(drop=True)
    many = int(tracks["n_frames"].idxmax())  # example_cl.mp3: several 29.12 s frames
    assert tracks.loc[many, "n_frames"] > 1
    dom = chromium(browser, (folder / "report.html").as_uri() + f"#t={many}")
    assert len(table_rows(dom)) == len(tracks)
    assert detail_frames(dom) == {str(i) for i in range(tracks.loc[many, "n_frames"])}
    assert len(re.findall(r'<rect class="bar', drawn(dom))) == len(GENRES)


def test_track_pngs_on_request_and_html_flag(out, tmp_path):
    page = tmp_path / "pages" / "catalogue.html"
    charts = tmp_path / "charts"
    proc = cli("report", str(out), "--html", str(page), "--charts", str(charts), "--max-track-charts", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    pngs = sorted((charts / "tracks").iterdir())
    assert len(pngs) == 4 and all(is_png(p) for p in pngs)  # two tracks: bars and timeline each
    assert is_png(charts / "distribution.png") and "<img" not in page.read_text()


def test_report_without_a_run_is_one_clear_message(tmp_path):
    proc = cli("report", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert unstamped(proc.stderr).startswith("recogenre: no run to report")


# ---- small hand-made runs ----


def write_run(
    run: Path, tracks: list[dict], frames: list[dict], errors: list[dict], catalogue: str, **manifest: str
) -> None:
    for name, rows, schema in (
        ("tracks", tracks, schemas.TRACKS),
        ("frames", frames, schemas.FRAMES),
        ("errors", errors, schemas.ERRORS),
    ):
        (run / name).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), run / name / "part-0.parquet")
    layout.write_manifest(str(run), {"run_id": run.name, "catalogue": catalogue, **manifest})


def two_tracks(root: str) -> tuple[list[dict], list[dict]]:
    """A silent track and one whose name is markup, in folders that share only "/" with nothing else."""
    odd = f'{root}/<b>"Loud" & clear</b>.wav'
    vector = dict(zip(GENRES, [0.05] * 9 + [0.55]))
    tracks = [
        {"track_id": "a1", "path": odd, "duration_s": 40.0, "n_frames": 1, "n_silent_frames": 0, **vector},
        {
            "track_id": "b2",
            "path": f"{root}/quiet/q.wav",
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
    return tracks, frames


def test_silent_tracks_and_odd_names_are_escaped_and_catalogue_relative(tmp_path):
    run = tmp_path / "runs" / "r1"
    tracks, frames = two_tracks("/music")
    error = {"path": "/elsewhere/<i>bad</i>.mp3", "stage": "decode", "error_type": "X", "message": "<script>"}
    write_run(run, tracks, frames, [error], "/music")

    done = build_report(str(run), str(tmp_path / "charts"), str(tmp_path / "page.html"))
    assert done["tracks"] == 2 and done["charts"] == 1  # only the distribution PNG
    page = (tmp_path / "page.html").read_text()
    assert "<b>" not in page and "<i>bad" not in page and page.count("<script") == 2  # data and code
    assert html.escape("/elsewhere/<i>bad</i>.mp3") in page and "<td>&lt;script&gt;</td>" in page
    data = page_data(page)
    assert data["root"] == "/music"
    assert data["tracks"]["name"] == ['<b>"Loud" & clear</b>.wav', "quiet/q.wav"]  # relative to the catalogue
    assert data["tracks"]["top"] == [GENRES.index("rock"), -1] and data["tracks"]["match"] == [1, None]
    assert data["frames"]["count"] == [1, 2]


def test_relative_catalogue_and_paths_are_shown_absolute_and_catalogue_relative(tmp_path):
    """``run --catalogue music --output output`` from tmp_path: the manifest and paths are as typed."""
    tracks, frames = two_tracks("music")
    run = tmp_path / "output" / "runs" / "r1"
    write_run(run, tracks, frames, [], "music", output="output")
    build_report(str(run), str(tmp_path / "charts"), str(tmp_path / "page.html"))
    page = (tmp_path / "page.html").read_text()
    data = page_data(page)
    assert data["root"] == str(tmp_path / "music")
    assert data["tracks"]["name"] == ['<b>"Loud" & clear</b>.wav', "quiet/q.wav"]
    assert f"{tmp_path / 'music'} <small>(given as <code>music</code>)</small>" in page


def test_a_confidence_column_is_shown_only_when_the_tracks_have_one(tmp_path):
    import pandas as pd

    from recogenre.apps.report_data import payload

    tracks, frames = two_tracks("/music")
    table = pd.DataFrame(tracks)
    frame_table = pd.DataFrame(frames).reindex(columns=[f.name for f in schemas.FRAMES])
    assert "conf" not in payload(table, frame_table, ["a", "b"], None)["tracks"]
    with_conf = payload(table.assign(confidence=[0.734, None]), frame_table, ["a", "b"], None)
    assert with_conf["tracks"]["conf"] == [73.4, None] and with_conf["conf_percent"]


def test_frame_spans_are_three_numbers_when_regular_and_listed_when_not():
    import numpy as np

    from recogenre.apps.report_data import frame_times

    starts = np.array([0.0, 29.12, 58.24, 5.0, 0.0, 10.0, 40.0])
    ends = np.array([29.12, 58.24, 80.0, 34.12, 29.12, 39.12, 70.0])
    assert frame_times(starts, ends, np.array([3, 0, 1, 3])) == [
        [0.0, 29.12, 80.0],  # back to back; the last frame may end early
        [],
        [5.0, 29.12, 34.12],
        [[0.0, 29.12], [10.0, 39.12], [40.0, 70.0]],  # overlapping segments: every span
    ]


def test_a_report_outlives_the_pruning_of_its_run(tmp_path):
    out = tmp_path / "output"
    tracks, frames = two_tracks("/music")
    for run_id in ("20261101T000000Z-aaaa", "20261102T000000Z-bbbb"):
        write_run(out / "runs" / run_id, tracks, frames, [], "/music")
    layout.switch_latest(str(out), "20261101T000000Z-aaaa")
    evaluation = out / "runs" / "20261101T000000Z-aaaa" / "evaluation"
    evaluation.mkdir()
    (evaluation / "summary.json").write_text("{}")
    proc = cli("report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = out / "reports" / "20261101T000000Z-aaaa" / "report.html"
    link = re.search(r'<a href="([^"]+)">evaluation summary</a>', page.read_text()).group(1)
    assert (page.parent / link).resolve() == (evaluation / "summary.json").resolve()  # labelled: linked

    layout.switch_latest(str(out), "20261102T000000Z-bbbb")
    assert layout.prune(str(out), keep=1) == ["20261101T000000Z-aaaa"]  # what `run --keep 1` does
    assert not (out / "runs" / "20261101T000000Z-aaaa").exists() and page.is_file()


# ---- a generated library of 10,000 tracks ----


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> dict:
    """A 10,000-track snapshot in the run layout, and its report made by ``recogenre report OUT``."""
    out = tmp_path_factory.mktemp("library") / "output"
    info = write_snapshot(out, LIBRARY_TRACKS)
    proc = cli("report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    info["page"] = out / "reports" / info["run"].name / "report.html"
    info["names"] = sorted(os.path.relpath(p, info["library"]) for p in info["paths"])
    order = sorted(range(LIBRARY_TRACKS), key=lambda i: info["paths"][i])
    for key in ("top_genre", "labels", "n_frames"):
        info[key] = [info[key][i] for i in order]
    return info


def test_library_page_is_small_and_self_contained(library):
    page = library["page"]
    size = page.stat().st_size
    assert size < MAX_PAGE_BYTES, f"{size / 1e6:.2f} MB"
    text = page.read_text()
    for outside in ("http://", "https://", "<link", "<img", "src=", "url("):
        assert outside not in text, outside
    data = page_data(text)
    assert data["tracks"]["name"] == library["names"]  # catalogue-relative, path order
    assert sum(data["frames"]["count"]) == sum(library["n_frames"])
    digest = json.loads((library["run"] / "manifest.json").read_text())["weights_sha256"]
    assert "Thu 26 Nov 2026, 02:41:07 UTC" in text  # the manifest's finished_at, for a person
    assert f'<abbr title="sha256 {digest}"><code>{digest[:12]}</code></abbr>' in text


def test_library_table_lists_every_track_in_chromium(library, browser):
    dom = chromium(browser, library["page"].as_uri())
    rows = table_rows(dom)
    assert len(rows) == LIBRARY_TRACKS and len(set(rows)) == LIBRARY_TRACKS
    assert 'data-ready="1"' in dom and f'<span id="shown">{LIBRARY_TRACKS} tracks</span>' in dom
    assert html.escape(ODD_NAME, quote=False) in drawn(dom)  # drawn as text, not markup
    assert re.search(r'<aside id="detail" hidden(="")?></aside>', dom)  # no track's charts until asked for


def test_library_filters_from_the_url(library, browser):
    """``?q=`` searches path, label and genre (every word); the hash selects genre and right/wrong."""
    dom = chromium(browser, library["page"].as_uri() + "?q=incoming%20artist%2007")
    hay = [
        f"{n}\n{lab or ''}\n{g or 'silent'}".lower()
        for n, lab, g in zip(library["names"], library["labels"], library["top_genre"])
    ]
    expected = [str(i) for i, h in enumerate(hay) if all(w in h for w in ("incoming", "artist", "07"))]
    assert 0 < len(expected) < LIBRARY_TRACKS
    assert sorted(table_rows(dom), key=int) == expected

    dom = chromium(browser, library["page"].as_uri() + "#genre=metal&match=wrong&sort=score&dir=desc")
    wrong_metal = [
        i
        for i, (lab, g) in enumerate(zip(library["labels"], library["top_genre"]))
        if g == "metal" and genre_of(lab) not in (None, "metal")
    ]
    rows = [int(r) for r in table_rows(dom)]
    assert sorted(rows) == wrong_metal and len(wrong_metal) > 10
    scores = page_data(library["page"].read_text())["tracks"]["score"]
    assert [scores[r] for r in rows] == sorted((scores[r] for r in rows), reverse=True)


def test_library_album_view_filters_and_sorts_from_the_url(library, browser):
    """An untagged library's albums are its folders; ``#view=albums&agenre=…&asort=…`` filters and sorts."""
    albums = page_data(library["page"].read_text())["albums"]
    folders = {os.path.dirname(os.path.relpath(p, library["library"])) for p in library["paths"]}
    assert sorted(albums["folder"]) == sorted(folders) and sum(albums["n"]) == LIBRARY_TRACKS
    dom = chromium(browser, library["page"].as_uri() + "#view=albums&agenre=metal&asort=tracks&adir=desc")
    body = re.search(r'<table id="albums"[^>]*>.*?<tbody>(.*?)</tbody>', drawn(dom), re.S)
    rows = [int(r) for r in re.findall(r'<tr data-a="(\d+)"', body.group(1))]
    metal = GENRES.index("metal")
    assert sorted(rows) == [i for i, top in enumerate(albums["top"]) if top == metal] and len(rows) > 3
    assert [albums["n"][r] for r in rows] == sorted((albums["n"][r] for r in rows), reverse=True)
    assert re.search(r'<section id="trackview" hidden', dom)  # the album view replaces the track view


def test_library_screenshot_shows_a_one_frame_track(library, browser, tmp_path):
    import matplotlib.image

    one = library["n_frames"].index(1)
    dom = chromium(browser, library["page"].as_uri() + f"#t={one}")
    assert detail_frames(dom) == {"0"} and "one frame: the track" in drawn(dom)

    shot = tmp_path / "report.png"
    chromium(
        browser, library["page"].as_uri() + f"#t={one}", "--window-size=1400,900", f"--screenshot={shot}"
    )
    assert is_png(shot)
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (900, 1400)
    colours = {tuple(p) for p in (pixels[::7, ::7, :3] * 255).astype(int).reshape(-1, 3)}
    assert (
        pixels.std() > 0.05 and len(colours) > 40
    )  # text, table and the ten genre colours, not a blank page


# ---- classify --plot ----


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
