"""File names with control characters never reach the terminal raw (issue 18).

A name holding ``ESC [1A ESC [2K CR`` erased the previous line of ``tag``'s dry-run review,
and a newline split ``classify``'s lines. Human-readable output shows them escaped
(``analysis/paths.printable``); the tables keep the raw name.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import soundfile as sf

from tests.conftest import AUDIO, WEIGHTS, run_in_process, unstamped

SNEAKY = "\x1b[1A\x1b[2K\rsneaky\nname.flac"
SHOWN = "\\x1b[1A\\x1b[2K\\rsneaky\\nname.flac"
RAW_CONTROLS = ("\x1b", "\r")


@pytest.fixture(scope="module")
def library_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("escapes")
    library = root / "library"
    library.mkdir()
    samples, sr = sf.read(AUDIO / "disco.00000.au", dtype="float32")
    for name in (SNEAKY, "a_precious.flac"):
        sf.write(library / name, samples, sr, format="FLAC")
    out = root / "out"
    assert run_in_process(library, out) == 0
    return library, out


def cli(capsys, *args: str) -> tuple[int, str, str]:
    from recogenre.cli import main

    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, unstamped(captured.err)


def test_the_tables_keep_the_raw_name(library_run):
    library, out = library_run
    paths = pd.read_parquet(out / "latest" / "tracks")["path"]
    assert str(library / SNEAKY) in set(paths)


def test_classify_text_shows_control_characters_escaped_on_one_line(library_run, capsys):
    library, _ = library_run
    code, text, err = cli(capsys, "classify", str(library / SNEAKY), "--weights", str(WEIGHTS))
    assert code == 0, err
    head, *rows = text.splitlines()
    assert head.startswith(f"{library}/{SHOWN}  (")
    assert len(rows) == 10 and not any(c in text for c in RAW_CONTROLS)
    # --json keeps the name as it is (JSON escapes it)
    code, text, err = cli(capsys, "classify", str(library / SNEAKY), "--json", "--weights", str(WEIGHTS))
    assert code == 0 and json.loads(text)["path"] == str(library / SNEAKY)


def test_tag_review_shows_every_file_on_its_own_intact_line(library_run, capsys):
    library, out = library_run
    code, text, err = cli(capsys, "tag", str(out))
    assert code == 0, err
    lines = [line for line in text.splitlines() if line.startswith(str(library))]
    assert len(lines) == 2 and not any(c in text for c in RAW_CONTROLS)
    assert lines[0].startswith(f"{library}/{SHOWN}: (none) -> ")
    assert lines[1].startswith(f"{library}/a_precious.flac: (none) -> ")


def test_one_line_messages_escape_control_characters(library_run, capsys):
    library, out = library_run
    code, _, err = cli(capsys, "similar", str(out), str(library / SNEAKY) + "\x1b[2K\nmissing")
    assert code == 2 and len(err.splitlines()) == 1 and not any(c in err for c in RAW_CONTROLS)
    assert err.startswith(f"recogenre: {library}/{SHOWN}\\x1b[2K\\nmissing: not a track_id")
