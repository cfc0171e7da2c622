"""The pages as a person uses them: a real headless Chromium, driven with selenium.

The upload page of ``recogenre serve`` (pick a clip, submit, read the answer
drawn in the page) and the page of ``recogenre report`` (table, a track's
detail, ``unknown`` drawn unlike any genre) are loaded in Debian's chromium;
the browser's console must hold no error (a script that does not parse is
logged as SEVERE and draws nothing). Without chromium or chromedriver these
tests fail rather than skip: a page nobody has seen work is not tested.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from recogenre.analysis.aggregate import UNKNOWN
from recogenre.analysis.genres import GENRES
from recogenre.apps.colours import GENRE_COLOURS
from tests.conftest import LABELLED, ROOT, clip, run_command
from tests.serving import running_server
from tests.snapshots import CHROMIUM_FLAGS

# Generous: the machine is busy, and a classification loads and decodes a whole clip.
WAIT_S = 300


def installed(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if path is None:
        pytest.fail(f"{name} is not installed (apt-get install chromium chromium-driver); "
                    "the page tests need a real browser")  # fmt: skip
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[webdriver.Chrome]:
    """Headless chromium with a fresh profile, its console log kept; quit whatever happens."""
    options = webdriver.ChromeOptions()
    options.binary_location = installed("chromium")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=installed("chromedriver")))
    try:
        driver.set_page_load_timeout(WAIT_S)
        yield driver
    finally:
        driver.quit()  # ends chromedriver and the browser it started


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """The console's SEVERE entries since the last call (reading the log empties it)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_upload_page_classifies_a_picked_clip_in_the_page(browser, tmp_path):
    name = "disco.00000.au"
    with running_server(tmp_path, tmp_path / "serve.log") as srv:
        status, _, answer = srv.upload(clip(name))  # what the service answers for this clip
        assert status == 200
        console_errors(browser)
        browser.get(f"http://127.0.0.1:{srv.port}/")
        assert console_errors(browser) == []  # the page's script parsed and ran
        browser.find_element(By.CSS_SELECTOR, "#f input[type=file]").send_keys(clip(name))
        browser.find_element(By.CSS_SELECTOR, "#f button").click()
        WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "result").is_displayed())
        top = browser.find_element(By.ID, "top").text
        bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
        shown = json.loads(browser.find_element(By.ID, "out").text)
        errors = console_errors(browser)
    assert errors == []
    assert browser.current_url == f"http://127.0.0.1:{srv.port}/"  # the script answered, not a raw POST
    assert answer["top_genre"] == LABELLED[name]
    assert top.startswith(f"top genre: {answer['top_genre']} (confidence {answer['confidence']:.3f})")
    assert shown == answer
    assert sorted(b.get_attribute("data-genre") for b in bars) == sorted(GENRES)
    assert bars[0].get_attribute("data-genre") == answer["top_genre"]  # highest first, marked
    assert "top" in bars[0].get_attribute("class")
    for bar in bars:
        pct = answer["genres"][bar.get_attribute("data-genre")]
        assert bar.find_element(By.CLASS_NAME, "pct").text == f"{pct:.1f}%"
        fill = bar.find_element(By.CLASS_NAME, "fill")
        whole = bar.find_element(By.CLASS_NAME, "track").size["width"]
        assert fill.size["width"] == pytest.approx(whole * pct / 100, abs=2)  # drawn to scale


def test_upload_page_shows_an_error_answer(browser, tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("liner notes, not audio\n" * 50)
    with running_server(tmp_path, tmp_path / "serve.log") as srv:
        console_errors(browser)
        browser.get(f"http://127.0.0.1:{srv.port}/")
        browser.find_element(By.CSS_SELECTOR, "#f input[type=file]").send_keys(str(text))
        browser.find_element(By.CSS_SELECTOR, "#f button").click()
        WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "result").is_displayed())
        top = browser.find_element(By.ID, "top").text
        shown = json.loads(browser.find_element(By.ID, "out").text)
        errors = console_errors(browser)
    assert top == f"error: {shown['error']}" and shown["status"] == 415
    assert browser.find_elements(By.CSS_SELECTOR, "#bars .bar") == []
    # The one console entry is the browser's note of the 415 itself, not a script error.
    assert all("status of 415" in e for e in errors), errors


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    """``recogenre run`` over a GTZAN clip and the speech clip (``unknown``), then ``recogenre report``."""
    d = tmp_path_factory.mktemp("browser-report")
    catalogue = d / "clips.csv"
    pd.DataFrame({"path": [clip("disco.00000.au"), clip("die.au")]}).to_csv(catalogue, index=False)
    out = d / "out"
    for cmd in (
        run_command(catalogue, out, "--direct_num_workers=1"),
        [sys.executable, "-m", "recogenre", "report", str(out)],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-3000:]
    (page,) = (out / "reports").glob("*/report.html")
    return page


def test_report_page_draws_unknown_unlike_any_genre(browser, report_page):
    console_errors(browser)
    browser.get(report_page.as_uri())
    WebDriverWait(browser, WAIT_S).until(lambda d: d.execute_script("return document.body.dataset.ready"))
    assert console_errors(browser) == []
    rows = browser.find_elements(By.CSS_SELECTOR, "#tracks tbody tr[data-i]")
    assert len(rows) == 2
    genres = {r.find_element(By.CSS_SELECTOR, "td.name").text: r for r in rows}
    assert genres["die.au"].find_elements(By.CSS_SELECTOR, "i.sw.unknown")  # hatched swatch
    swatch = genres["die.au"].find_element(By.CSS_SELECTOR, "i.sw")
    assert "repeating-linear-gradient" in swatch.value_of_css_property("background-image")
    assert swatch.value_of_css_property("background-color") == "rgba(0, 0, 0, 0)"  # no flat colour
    disco = genres["disco.00000.au"].find_element(By.CSS_SELECTOR, "i.sw")
    assert disco.value_of_css_property("background-color") == rgb(GENRE_COLOURS["disco"])
    bar = browser.find_element(By.CSS_SELECTOR, f'#distribution .dbar[data-genre="{UNKNOWN}"] rect + rect')
    assert bar.get_attribute("fill").startswith("url(#")  # the hatch pattern, not a colour
    genres["die.au"].click()  # the detail panel, drawn on demand
    detail = browser.find_element(By.ID, "detail")
    WebDriverWait(browser, WAIT_S).until(lambda d: detail.is_displayed())
    assert "unknown (best guess" in detail.text
    assert len(detail.find_elements(By.CSS_SELECTOR, "#bars rect.bar")) == len(GENRES)
    assert console_errors(browser) == []


def rgb(colour: str) -> str:
    r, g, b = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, 1)"


def test_report_page_has_an_album_view(browser, report_page):
    """The album view (``#view=albums``): the run's albums table, one row per album, sortable;
    an album opens its tracks."""
    run = (report_page.parents[2] / "latest").resolve()
    albums = pd.read_parquet(run / "albums")
    assert len(albums) == 1 and albums["n_tracks"].iloc[0] == 2  # both clips lie in one folder: one album
    console_errors(browser)
    browser.get(report_page.as_uri() + "#view=albums")
    WebDriverWait(browser, WAIT_S).until(lambda d: d.execute_script("return document.body.dataset.ready"))
    assert console_errors(browser) == []
    assert not browser.find_element(By.ID, "trackview").is_displayed()
    (row,) = browser.find_elements(By.CSS_SELECTOR, "#albums tbody tr[data-a]")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    heads = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#albums th")]
    shown = dict(zip(heads, cells, strict=True))
    album = albums.iloc[0]
    assert shown["top genre"] == album["top_genre"] and shown["tracks"] == "2"
    assert shown["confidence %"] == f"{album['confidence'] * 100:.1f}"
    assert shown["agreement %"] == f"{album['agreement'] * 100:.1f}"
    head = browser.find_element(By.CSS_SELECTOR, '#albums th[data-key="agreement"]')
    head.click()  # sortable: a number column sorts high to low first
    assert head.get_attribute("aria-sort") == "descending" and "asort=agreement" in browser.current_url
    (row,) = browser.find_elements(By.CSS_SELECTOR, "#albums tbody tr[data-a]")  # drawn again
    row.click()  # its tracks: the track view, searched for the album's folder
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "trackview").is_displayed())
    assert len(browser.find_elements(By.CSS_SELECTOR, "#tracks tbody tr[data-i]")) == 2
    assert not browser.find_element(By.ID, "albumview").is_displayed()
    assert console_errors(browser) == []
