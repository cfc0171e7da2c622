"""recogenre tag: genres written into the files' own tags, the audio untouched, and the next
nightly run decoding nothing because of it."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import mutagen
import mutagen.id3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from mutagen.id3 import ID3, TCON

from tests.conftest import AUDIO, run_in_process, unstamped

SECONDS = 10  # generated clips: enough for one frame, cheap to decode
WRITTEN = ("flac", "ogg", "opus", "m4a", "mp3", "mp3bare")  # files with no genre, in the formats written
# The ukulele clip and the 10 s excerpts are below the default --min-confidence (unknown, never
# written); these tests are about writing genres, so every track gets its best genre.
EVERY_TRACK = ("--min-confidence", "0")


def _encode(samples: np.ndarray, sr: int, path: Path, codec: str, rate: int, container: str) -> None:
    """Encodes mono float samples with FFmpeg (PyAV), resampled to the codec's rate and frame size."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        ctx = stream.codec_context
        resampler = av.AudioResampler(format=ctx.format, layout="mono", rate=rate, frame_size=ctx.frame_size)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = sr
        for f in resampler.resample(frame) + resampler.resample(None):
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))


def make_library(folder: Path) -> dict[str, Path]:
    """The shared MP3s copied; FLAC, Ogg Vorbis, Opus and M4A made from a shared clip (the
    shared clips hold none); an AU file for the unsupported list."""
    folder.mkdir()
    samples, sr = sf.read(AUDIO / "disco.00000.au", dtype="float32")
    samples = samples[: sr * SECONDS]
    files = {
        k: folder / n for k, n in [("flac", "a.flac"), ("ogg", "b.ogg"), ("opus", "c.opus"), ("m4a", "d.m4a")]
    }
    sf.write(files["flac"], samples, sr)
    sf.write(files["ogg"], samples, sr, format="OGG", subtype="VORBIS")
    _encode(samples, sr, files["opus"], "libopus", 48000, "ogg")
    _encode(samples, sr, files["m4a"], "aac", sr, "ipod")
    files["mp3"] = folder / "e.mp3"  # ID3v2.4 without a genre
    shutil.copyfile(AUDIO / "bensound-cute.mp3", files["mp3"])
    files["mp3v23"] = folder / "f.mp3"  # ID3v2.3 and ID3v1, genre "Abstract"
    shutil.copyfile(AUDIO / "bensound-actionable.mp3", files["mp3v23"])
    files["au"] = folder / "g.au"
    shutil.copyfile(AUDIO / "die.au", files["au"])
    files["mp3bare"] = folder / "h.mp3"  # an MPEG stream with no tag at all: one is put in front
    _encode(samples, sr, files["mp3bare"], "libmp3lame", sr, "mp3")
    mutagen.id3.delete(files["mp3bare"])
    head = files["mp3bare"].read_bytes()[:2]
    assert head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # starts with an MPEG frame's sync word
    return files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audio_evidence(path: Path) -> tuple:
    """What must not change: the project decoder's samples and the demuxed packets' bytes."""
    from recogenre.analysis.decode import decode
    from recogenre.apps.file_rewrite import audio_digest

    info, samples = decode(str(path))
    return info.sample_rate, samples, audio_digest(str(path))


def assert_same_audio(before: tuple, after: tuple) -> None:
    assert before[0] == after[0]
    assert before[1].dtype == after[1].dtype and np.array_equal(before[1], after[1])  # bit-identical
    assert before[2] == after[2] and before[2][0] > 0  # same packets, byte for byte


def tag(capsys, out: Path, *args: str) -> tuple[int, list[str], str]:
    """``recogenre tag`` in-process: exit status, stdout lines, stderr."""
    from recogenre.cli import main

    capsys.readouterr()
    try:
        code = main(["tag", str(out), *args])
    except SystemExit as e:  # argparse's errors (one line, exit 2)
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), unstamped(captured.err)


def manifest(out: Path) -> dict:
    return json.loads((out / "latest" / "manifest.json").read_text())


def tracks(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "latest" / "tracks").set_index("path")


def test_dry_run_write_audio_untouched_and_the_next_run_decodes_nothing(tmp_path, capsys):
    from recogenre.apps.tag_formats import TAG_VALUES

    files = make_library(tmp_path / "lib")
    out = tmp_path / "out"
    assert run_in_process(tmp_path / "lib", out, *EVERY_TRACK) == 0
    genre = {k: TAG_VALUES[tracks(out).loc[str(p), "top_genre"]] for k, p in files.items()}
    before = {k: (sha256(p), p.stat()) for k, p in files.items()}
    files["flac"].chmod(0o640)  # kept by the write
    before["flac"] = (sha256(files["flac"]), files["flac"].stat())

    # Dry run: every file listed, nothing changed, the export written anyway.
    export = tmp_path / "genres.csv"
    code, lines, err = tag(capsys, out, "--export", str(export))
    assert code == 0 and err == ""
    listing = dict(line.split(": ", 1) for line in lines if line.startswith(str(tmp_path)))
    for k in WRITTEN:
        assert listing[str(files[k])] == f"(none) -> {genre[k]}"
    assert listing[str(files["mp3v23"])] == f"Abstract (kept; --overwrite replaces it with {genre['mp3v23']})"
    assert listing[str(files["au"])] == "skipped (unsupported format: AU has no tag format)"
    assert (
        f"dry run: {len(WRITTEN)} to write, 1 kept (a genre already there), 0 already set, "
        "1 skipped (1 unsupported format), 0 failed; nothing written (--write writes)" in lines
    )
    assert all(sha256(p) == before[k][0] for k, p in files.items())
    with open(export, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["path"] for r in rows] == sorted(str(p) for p in files.values())
    assert {r["path"]: r["genre"] for r in rows} == {str(files[k]): genre[k] for k in files}

    # Write: the genre in each format's field, audio bit-identical, metadata as documented.
    audio = {k: audio_evidence(p) for k, p in files.items() if k != "au"}
    code, lines, err = tag(capsys, out, "--write")
    assert code == 0 and err == "", err
    assert lines[-1] == f"fields written: GENRE, TCON, ©gen; ledger: {out / 'tag-writes.jsonl'}"
    assert f"tag: {len(WRITTEN)} written, 1 kept (a genre already there)" in lines[-2]
    for k in WRITTEN:
        assert_same_audio(audio[k], audio_evidence(files[k]))
        assert sha256(files[k]) != before[k][0]
        assert files[k].stat().st_mtime_ns > before[k][1].st_mtime_ns  # mtime: the write's time
    assert mutagen.File(files["flac"])["GENRE"] == [genre["flac"]]
    assert mutagen.File(files["ogg"])["GENRE"] == [genre["ogg"]]
    assert mutagen.File(files["opus"])["GENRE"] == [genre["opus"]]
    assert mutagen.File(files["m4a"])["\xa9gen"] == [genre["m4a"]]
    assert ID3(files["mp3"]).getall("TCON")[0].text == [genre["mp3"]]
    assert ID3(files["mp3bare"]).version[:2] == (2, 4) and files["mp3bare"].read_bytes()[:3] == b"ID3"
    assert ID3(files["mp3bare"]).getall("TCON")[0].text == [genre["mp3bare"]]
    assert files["flac"].stat().st_mode & 0o7777 == 0o640
    assert sha256(files["mp3v23"]) == before["mp3v23"][0] and sha256(files["au"]) == before["au"][0]
    assert not [p for p in files["flac"].parent.iterdir() if p.name.startswith(".")]  # no temp left
    ledger = [json.loads(line) for line in (out / "tag-writes.jsonl").read_text().splitlines()]
    assert {e["path"]: e["after_sha256"] for e in ledger} == {
        str(files[k]): sha256(files[k]) for k in WRITTEN
    }
    code, lines, _ = tag(capsys, out)  # nothing left to do
    assert f"dry run: 0 to write, 1 kept (a genre already there), {len(WRITTEN)} already set" in lines[-1]

    # The nightly run: 0 files decoded; the carried rows have the new size, mtime and sha256.
    previous = tracks(out)
    assert run_in_process(tmp_path / "lib", out, *EVERY_TRACK) == 0
    m = manifest(out)
    assert m["counts"]["decoded"] == 0 and m["counts"]["unchanged"] == len(files), m["counts"]
    changes = pd.read_parquet(out / "latest" / "changes").set_index("path")
    now = tracks(out)
    for k, p in files.items():
        written = k in WRITTEN
        reason = "only its tags changed, written by recogenre tag" if written else "same size and mtime"
        assert changes.loc[str(p), "reason"] == reason
        assert (
            now.loc[str(p), "content_sha256"] == sha256(p)
            and now.loc[str(p), "size_bytes"] == p.stat().st_size
        )
        assert abs(now.loc[str(p), "mtime"].timestamp() - p.stat().st_mtime) < 1e-5
        assert now.loc[str(p), "top_genre"] == previous.loc[str(p), "top_genre"]

    # --overwrite on the ID3v2.3 file keeps v2.3 and updates its ID3v1 genre; a file another
    # tool changes after recogenre's write is decoded again, the ledger notwithstanding.
    v23 = audio_evidence(files["mp3v23"])
    code, lines, err = tag(capsys, out, "--write", "--overwrite")
    assert code == 0 and f"{files['mp3v23']}: Abstract -> {genre['mp3v23']}" in lines
    assert_same_audio(v23, audio_evidence(files["mp3v23"]))
    id3 = ID3(files["mp3v23"])
    assert id3.version[:2] == (2, 3) and id3.getall("TCON")[0].text == [genre["mp3v23"]]
    assert files["mp3v23"].read_bytes()[-1] == TCON.GENRES.index(genre["mp3v23"])  # ID3v1 genre byte
    ledger = [json.loads(line) for line in (out / "tag-writes.jsonl").read_text().splitlines()]
    assert [e["path"] for e in ledger] == [str(files["mp3v23"])]  # the absorbed entries pruned
    ogg = mutagen.File(files["ogg"])
    ogg["TITLE"] = ["edited by another tagger"]
    ogg.save()
    assert run_in_process(tmp_path / "lib", out, *EVERY_TRACK) == 0
    m = manifest(out)
    assert (
        m["counts"]["decoded"] == m["counts"]["changed"] == 1 and m["counts"]["unchanged"] == len(files) - 1
    )
    changes = pd.read_parquet(out / "latest" / "changes").set_index("path")
    assert changes.loc[str(files["ogg"]), "change"] == "changed"
    assert changes.loc[str(files["mp3v23"]), "reason"] == "only its tags changed, written by recogenre tag"


def make_small_run(tmp_path: Path, undecodable_name: bool = False) -> tuple[dict[str, Path], Path]:
    """A FLAC, an M4A and an MP3 (and, if asked, an MP3 whose name is not UTF-8), classified."""
    files = make_library(tmp_path / "lib")
    for k in ("ogg", "opus", "au", "mp3v23", "mp3bare"):
        files.pop(k).unlink()
    if undecodable_name:
        files["latin1"] = tmp_path / "lib" / os.fsdecode(b"caf\xe9.mp3")
        shutil.copyfile(files["mp3"], files["latin1"])
    out = tmp_path / "out"
    assert run_in_process(tmp_path / "lib", out, *EVERY_TRACK) == 0
    return files, out


@pytest.fixture
def small_run(tmp_path) -> tuple[dict[str, Path], Path]:
    return make_small_run(tmp_path)


def set_confidence(out: Path, values: dict[str, float] | None) -> None:
    """Gives the snapshot's tracks a confidence column (or removes it): the column another part of
    recogenre writes, with values chosen by the test."""
    for part in (out / "latest" / "tracks").glob("*.parquet"):
        table = pq.read_table(part)
        if "confidence" in table.column_names:
            table = table.drop_columns(["confidence"])
        if values is not None:
            column = pa.array([values[p] for p in table.column("path").to_pylist()], pa.float64())
            table = table.append_column("confidence", column)
        pq.write_table(table, part)


def test_custom_field_min_confidence_and_a_failed_write_leaves_the_file(small_run, capsys, monkeypatch):
    from recogenre.apps import tag_formats

    files, out = small_run
    genre = {k: tag_formats.TAG_VALUES[tracks(out).loc[str(p), "top_genre"]] for k, p in files.items()}

    set_confidence(out, None)
    code, lines, err = tag(capsys, out, "--min-confidence", "0.5")
    assert code == 2 and lines == [] and len(err.splitlines()) == 1
    assert "--min-confidence needs a confidence column" in err

    set_confidence(out, {str(files["flac"]): 0.9, str(files["m4a"]): 0.2, str(files["mp3"]): 0.7})
    export = out.parent / "export.csv"
    code, lines, err = tag(capsys, out, "--min-confidence", "0.5", "--export", str(export))
    assert code == 0, err
    assert f"{files['m4a']}: skipped (confidence 0.200 below --min-confidence 0.5)" in lines
    with open(export, newline="") as f:
        assert [(r["path"], r["confidence"]) for r in csv.DictReader(f)] == [
            (str(files["flac"]), "0.900000"),
            (str(files["mp3"]), "0.700000"),
        ]

    # A write that fails half-way (a full disk, simulated in the tag library) leaves that file as it
    # was and no temporary file; the others are written; exit status 1 with one line for it.
    original_save = tag_formats.FileTags.save

    def failing_save(self):
        if self.path.endswith(".recogenre-tmp") and ".d.m4a." in self.path:
            Path(self.path).write_bytes(b"half")
            raise OSError(28, "No space left on device")
        original_save(self)

    monkeypatch.setattr(tag_formats.FileTags, "save", failing_save)
    m4a = sha256(files["m4a"])
    code, lines, err = tag(capsys, out, "--write", "--field", "TXXX:recogenre_genre")
    assert code == 1
    assert (
        err.strip()
        == f"recogenre: {files['m4a']}: not written, the file is as it was: No space left on device"
    )
    assert sha256(files["m4a"]) == m4a and not [
        p for p in files["m4a"].parent.iterdir() if p.name.startswith(".")
    ]
    assert "1 failed" in lines[-2]
    assert ID3(files["mp3"]).getall("TXXX:recogenre_genre")[0].text == [genre["mp3"]]
    assert ID3(files["mp3"]).getall("TCON") == []  # the custom field only
    assert mutagen.File(files["flac"])["RECOGENRE_GENRE"] == [genre["flac"]]
    ledger = [json.loads(line) for line in (out / "tag-writes.jsonl").read_text().splitlines()]
    assert sorted(e["path"] for e in ledger) == [str(files["flac"]), str(files["mp3"])]

    monkeypatch.setattr(tag_formats.FileTags, "save", original_save)
    code, lines, err = tag(capsys, out, "--write", "--field", "TXXX:recogenre_genre")
    assert code == 0 and f"{files['m4a']}: (none) -> {genre['m4a']}" in lines
    freeform = mutagen.File(files["m4a"])["----:com.apple.iTunes:recogenre_genre"]
    assert [bytes(v).decode() for v in freeform] == [genre["m4a"]]


def test_the_library_function_returns_the_outcomes_and_prints_nothing(small_run, capsys):
    """Typed outcome (issue 19): ``apps.tagging.tag`` returns each file's outcome and the counts as
    data and raises a UsageError for a bad option; only the command line prints."""
    from recogenre.analysis.outcomes import UsageError
    from recogenre.apps.tagging import TagError, TagResult
    from recogenre.apps.tagging import tag as tag_files
    from recogenre.cli import build_parser

    files, out = small_run
    before = {k: sha256(p) for k, p in files.items()}
    capsys.readouterr()
    result = tag_files(build_parser().parse_args(["tag", str(out)]))
    assert isinstance(result, TagResult) and not result.write
    assert capsys.readouterr() == ("", "")
    assert [d.path for d in result.outcomes] == sorted(tracks(out).index)
    actions = [d.action for d in result.outcomes]
    assert result.counts == {a: actions.count(a) for a in set(actions)} and result.failed == 0
    assert {k: sha256(p) for k, p in files.items()} == before  # a dry run
    code, lines, _ = tag(capsys, out)  # the command prints the same outcomes and summary
    assert code == 0
    assert lines == [f"{d.path}: {d.text}" for d in result.outcomes] + result.closing_lines()

    with pytest.raises(TagError, match=r"^tag: --field 'TIT2': ") as refused:
        tag_files(build_parser().parse_args(["tag", str(out), "--field", "TIT2"]))
    assert isinstance(refused.value, UsageError) and refused.value.exit_status == 2
    assert capsys.readouterr() == ("", "")


def test_a_file_replaced_by_a_fifo_is_skipped_and_never_opened(small_run):
    """A FIFO opened for reading blocks until a writer appears: tag must neither hash nor open one,
    and the other files are still written."""
    files, out = small_run
    files["flac"].unlink()
    os.mkfifo(files["flac"])
    done = subprocess.run(
        [sys.executable, "-m", "recogenre", "tag", str(out), "--write"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"{files['flac']}: skipped (not a regular file: a FIFO (named pipe))" in lines
    assert [ln for ln in lines if ln.startswith(f"{files['mp3']}: ") and " -> " in ln]
    assert mutagen.File(files["m4a"]).get("\xa9gen")


def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys):
    for args, message in [
        (["--field", "genre=x"], "--field 'genre=x': use 'genre' or a custom name"),
        (["--min-confidence", "1.5"], "--min-confidence: must be a fraction from 0 to 1, not 1.5"),
        ([], f"tag: no published run in {tmp_path}"),
    ]:
        code, lines, err = tag(capsys, tmp_path, *args)
        assert code == 2 and lines == [] and len(err.splitlines()) == 1 and message in err, err


def test_links_read_only_files_and_names_that_are_not_utf8(tmp_path, capsys):
    """A symlink stays a link, hard links and read-only files are left alone, and a name that is
    not UTF-8 is written and exported under its own bytes."""
    files, out = make_small_run(tmp_path, undecodable_name=True)
    target = files["flac"].parent / "real.flac"
    os.replace(files["flac"], target)
    files["flac"].symlink_to(target.name)
    os.link(files["mp3"], files["mp3"].parent / "hardlink.mp3")
    files["m4a"].chmod(0o444)
    m4a = sha256(files["m4a"])
    code, lines, err = tag(capsys, out, "--write")
    assert code == 0, err
    assert files["flac"].is_symlink() and mutagen.File(target)["GENRE"]
    assert f"{files['mp3']}: skipped (it has 2 hard links, which a rewrite would split)" in lines
    assert f"{files['m4a']}: skipped (read-only: its permissions say it is not to be changed)" in lines
    assert sha256(files["m4a"]) == m4a and "2 written" in lines[-2]
    assert "caf\ufffde9.mp3: (none) -> " in "\n".join(lines)  # listed in the stored, printable form
    assert ID3(files["latin1"]).getall("TCON")
    export = tmp_path / "genres.csv"
    assert tag(capsys, out, "--export", str(export))[0] == 0
    assert os.fsencode(files["latin1"]) in export.read_bytes().splitlines()[2]  # sorted: c < e
