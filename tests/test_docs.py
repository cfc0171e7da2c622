"""README.md and every docs/*.md: each shell command runs as written, each output shown is
what the command prints, and each link leads somewhere.

The conventions (also stated in docs/README.md, "How these pages are checked"):

- A fenced block tagged ``sh``, ``bash`` or ``shell`` is a list of commands, run from the
  repository root after ``./run_local.sh`` set-up. Lines joined by a trailing backslash are
  one command; ``#`` comments are ignored.
- A fenced block tagged ``console`` is a terminal session: a line starting with ``$ `` is
  a command (a trailing backslash continues it on the next line), the lines after it, up
  to the next ``$`` line, are what it prints. The test runs the command and compares:
  stdout and stderr together, in the order printed, without the timestamp recogenre puts
  before each stderr line when stderr is not a terminal (the docs show what a terminal
  shows); blank lines and trailing spaces do not count. In the shown output:

  - ``…`` on a line of its own stands for any number of lines (none included): progress
    lines, whatever the page leaves out;
  - ``…`` inside a line stands for any text on that line: times, durations, speeds,
    absolute and temporary paths, long JSON;
  - a run id (``20261206T010203Z-1a2b``) matches any run id;
  - a number with decimals matches the printed number give or take one in its last
    shown digit (``82.497`` matches 82.4955–82.4985): float results differ in their last
    bits between machines and runners, never by more;
  - everything else must be equal. A command with no lines after it is only run.

  A command is expected to exit with status 0; one ending in ``# exit N`` must exit with N
  (to show an error message).
- A block whose first line is ``# needs: REASON`` (a cloud account, a cluster, a download,
  your own music folder) is not run here; nor is a single command that ends in
  ``# needs: REASON``. The reason must be said.
- Nothing may start with a bare ``recogenre``: it is not on PATH. Use
  ``./run_local.sh recogenre …`` or ``.venv/bin/recogenre …``.
- Placeholders in capitals (``DIR``, ``OUT``, ``SRC``) are not commands: put such synopses
  in a ``text`` block, or mark them ``# needs:``.
- Blocks tagged ``text``, ``json``, ``python``, ``sql`` or nothing are not run (the Python
  API session of docs/api.md is run and compared by tests/test_api.py).
- Every relative link (``[x](docs/results.md#tracks)``) names an existing file and, after
  ``#``, a heading of that file.

How it runs, to stay within a few minutes: each page in its own scratch checkout (a reader
starting on that page), beside a scratch ``shared/`` (so ``../shared/audio`` and
``./output`` resolve as in the real checkout), where ``run_local.sh``, ``.venv``,
``setup.py``, ``requirements.lock`` and the source folders are links to this checkout,
and ``../shared/audio`` holds only the short clips (die.au, disco.00000.au,
metal.00000.au) plus any other clip the page names. So a page's examples should name
their inputs (``'../shared/audio/*.au'``, copies into ``mylib/``) rather than the whole
``../shared/audio``, whose contents differ here. The blocks of a page run in order; a
command of a ``sh`` block identical to one already run on the page (comments aside) is
not run again (``console`` commands always run: their output is the point). ``serve`` is
started in the background on a free port (the block's ``8080`` is replaced by it), waited
for on ``/healthz`` and stopped by its pid when the page ends.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import AUDIO, ROOT, STAMP, WEIGHTS

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = {"sh", "bash", "shell"}
SESSION = "console"
NEEDS = re.compile(r"#\s*needs:\s*(\S.*)$")
EXIT = re.compile(r"#\s*exit\s+(\d+)\s*$")
SHORT_CLIPS = ("die.au", "disco.00000.au", "metal.00000.au")
LINKED = ("run_local.sh", ".venv", "setup.py", "requirements.lock", "pipeline", "transforms", "apps",
          "analysis", "recogenre", "beetsplug", "benchmarks", "tests", "weights", "pytest.ini", "ruff.toml")
RUN_ID = r"\d{8}T\d{6}Z-[0-9a-f]{4}"
ELLIPSIS = "…"
TOKENS = re.compile(rf"({ELLIPSIS}|{RUN_ID}|-?\d+\.\d+)")


@dataclass
class Step:
    line: int  # where the command is in the page
    command: str
    expected: list[str] | None  # console output lines; None: only run it
    status: int = 0
    needs: str | None = None


def blocks(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, language, lines) of every fenced block."""
    found, current, start, lang = [], None, 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence and current is None:
            lang, current, start = fence.group(1).lower(), [], number
        elif fence:
            found.append((start, lang, current))
            current = None
        elif current is not None:
            current.append(line)
    return found


def commands(lines: list[str]) -> list[str]:
    """Logical commands of a sh block: backslash continuations joined, comment lines dropped."""
    out, pending = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full and not full.startswith("#"):
            out.append(full)
    return out


def session(start: int, lines: list[str]) -> list[Step]:
    """The commands of a console block, each with the output lines shown after it."""
    steps: list[Step] = []
    pending = None
    for offset, line in enumerate(lines, 1):
        if pending is not None:
            pending.command += " " + line.strip().removesuffix("\\")
            if not line.rstrip().endswith("\\"):
                pending = None
        elif line.startswith("$ "):
            steps.append(Step(start + offset, line[2:].strip().removesuffix("\\"), []))
            if line.rstrip().endswith("\\"):
                pending = steps[-1]
        elif steps:
            steps[-1].expected.append(line)
        else:
            assert not line.strip() or NEEDS.match(line.strip()), (
                f"console block at line {start}: output before any `$ ` command: {line!r}"
            )
    for step in steps:
        step.needs = command_needs(step.command)
        status = EXIT.search(step.command)
        step.status = int(status.group(1)) if status else 0
    return steps


def block_needs(lines: list[str]) -> str | None:
    first = next((ln for ln in lines if ln.strip()), "")
    m = NEEDS.match(first.strip())
    return m.group(1) if m else None


def command_needs(command: str) -> str | None:
    m = NEEDS.search(command)
    return m.group(1) if m else None


def steps(text: str) -> list[Step]:
    """Every command of a page in order, with what it should print (console blocks)."""
    out: list[Step] = []
    for start, lang, lines in blocks(text):
        needs = block_needs(lines)
        if lang in COMMANDS:
            for c in commands(lines):
                out.append(Step(start, c, None, needs=needs or command_needs(c)))
        elif lang == SESSION:
            for step in session(start, lines):
                step.needs = needs or step.needs
                out.append(step)
    return out


TEXTS = {page: page.read_text() for page in PAGES}
STEPS = {page: steps(text) for page, text in TEXTS.items()}
IDS = [str(page.relative_to(ROOT)) for page in PAGES]


# ---------------------------------------------------------------- the shown output

def _segment(tokens: list[str]) -> tuple[re.Pattern, list[str]]:
    """The regular expression of a run of shown text without ``…``, and the numbers in it."""
    pattern, numbers = "", []
    for token in tokens:
        if re.fullmatch(RUN_ID, token):
            pattern += RUN_ID
        elif re.fullmatch(r"-?\d+\.\d+", token):
            pattern += r"(-?\d+\.\d+)"
            numbers.append(token)
        else:
            pattern += re.escape(token)
    return re.compile(pattern), numbers


def _numbers_agree(shown: list[str], m: re.Match) -> bool:
    for want, got in zip(shown, m.groups()):
        last_digit = 10.0 ** -len(want.split(".")[1])
        if abs(float(got) - float(want)) > last_digit * 1.0001:
            return False
    return True


def line_matches(shown: str, printed: str) -> bool:
    """One shown line against one printed line (see the module docstring).

    The text between ``…`` wildcards is found left to right, each piece at its first place
    that fits (with its numbers within tolerance) -- the usual glob matching, linear in
    practice. One regular expression with a ``.*?`` per wildcard backtracks exponentially
    when a long line (``classify --json``) does not match.
    """
    pieces: list[list[str]] = [[]]
    for token in TOKENS.split(shown.rstrip()):
        if token == ELLIPSIS:
            pieces.append([])
        else:
            pieces[-1].append(token)
    printed = printed.rstrip()
    pos = 0
    for k, tokens in enumerate(pieces):
        rx, numbers = _segment(tokens)
        first, last = k == 0, k == len(pieces) - 1
        if first:
            m = rx.fullmatch(printed) if last else rx.match(printed)
            if not m or not _numbers_agree(numbers, m):
                return False
            pos = m.end()
            continue
        start = pos
        while True:
            m = rx.search(printed, start)
            if m and last and m.end() != len(printed):
                m = re.compile(rx.pattern + r"\Z").search(printed, start)
            if not m:
                return False
            if _numbers_agree(numbers, m):
                break
            start = m.start() + 1
        pos = m.end()
    return True


def output_matches(shown: list[str], printed: list[str]) -> bool:
    """Shown lines against printed lines; ``…`` alone on a line is any number of lines.

    Memoised on (shown line, printed line): without it a mismatch under several ``…`` lines
    tries every way to spread the printed lines over them (exponential in the ``…`` lines).
    """

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(shown):
            return j == len(printed)
        if shown[i].strip() == ELLIPSIS:
            return any(match(i + 1, k) for k in range(j, len(printed) + 1))
        return j < len(printed) and line_matches(shown[i], printed[j]) and match(i + 1, j + 1)

    return match(0, 0)


def meaningful(lines: list[str]) -> list[str]:
    return [line.rstrip() for line in lines if line.strip()]


def test_the_output_comparison_allows_what_varies_and_nothing_else():
    printed = [
        "recogenre: run 20261206T010203Z-1a2b: 3 files from mylib with DirectRunner, first run",
        "progress: 1/3 tracks, 1 frames, 0.4 frames/s, ~9 s left",
        "run 20261206T010203Z-1a2b: 3 tracks (0 silent), 3 frames, 0 errors",
        "genres: disco 1, metal 1, unknown 1",
        "  disco       82.4973%",
        "wall time 6.1 s; results: /tmp/pytest-7/checkout/mylib-out/runs/20261206T010203Z-1a2b",
    ]
    shown = [
        "recogenre: run 20261126T065544Z-3c20: 3 files from mylib with DirectRunner, first run",
        "…",
        "run 20261126T065544Z-3c20: 3 tracks (0 silent), 3 frames, 0 errors",
        "genres: disco 1, metal 1, unknown 1",
        "  disco       82.497%",
        "wall time … s; results: …/mylib-out/runs/20261126T065544Z-3c20",
    ]
    assert output_matches(shown, printed)
    assert output_matches(shown[:1] + shown[2:], printed[:1] + printed[2:])  # … may stand for no line
    for i, wrong in [(3, "genres: classical 2, unknown 1"), (4, "  disco       82.495%"),
                     (5, "wall time … s; results: …/output/runs/20261126T065544Z-3c20")]:
        assert not output_matches([*shown[:i], wrong, *shown[i + 1:]], printed), wrong
    assert not output_matches(shown[:-1], printed)  # an unshown last line is a difference


# ---------------------------------------------------------------- checks of the text

@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_no_command_starts_with_a_bare_recogenre(page):
    bare = [(s.line, s.command) for s in STEPS[page] if re.match(r"^(\S+=\S+\s+)*recogenre\b", s.command)]
    assert not bare, f"bare `recogenre` is not on PATH; use ./run_local.sh or .venv/bin/recogenre: {bare}"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_skipped_command_says_why(page):
    for n, lang, lines in blocks(TEXTS[page]):
        if lang in COMMANDS | {SESSION}:
            for line in lines:
                if "needs:" in line:
                    assert NEEDS.search(line), f"{page.name} line {n}: malformed marker {line!r}"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_no_placeholders_in_commands_that_run(page):
    for s in STEPS[page]:
        if s.needs:
            continue
        words = shlex.split(s.command, comments=True)
        while words and re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", words[0]):  # `BEETSDIR=mybeets beet ...`:
            words = words[1:]  # the command's own environment, not a placeholder
        words = [w for w in words if re.fullmatch(r"[A-Z][A-Z_]+\b.*", w)]
        assert not words, f"{page.name} line {s.line}: placeholder {words} in `{s.command}`; mark it # needs:"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    outside = re.sub(r"^\s*```.*?^\s*```", "", text, flags=re.S | re.M)
    return {slug(m) for m in re.findall(r"^#{1,6}\s+(.*)$", outside, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_relative_link_leads_somewhere(page):
    text = re.sub(r"^\s*```.*?^\s*```", "", TEXTS[page], flags=re.S | re.M)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s):, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: link to {target}: no such file"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file.read_text()), f"{page.name}: link to {target}: no such heading"


def test_the_readme_is_a_front_door():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= 30_000, f"README.md is {size} bytes, over 30 KB: move the detail to docs/"
    assert sum(len(STEPS[p]) for p in PAGES) >= 20


# ---------------------------------------------------------------- running them

def checkout(base: Path, text: str) -> Path:
    """A scratch checkout beside a scratch shared/ with the short clips, the clips the page
    names, and the real weights."""
    work = base / "checkout"
    work.mkdir()
    for name in LINKED:
        if (ROOT / name).exists():
            (work / name).symlink_to(ROOT / name)
    shared = base / "shared"
    (shared / "audio").mkdir(parents=True)
    (shared / "weights").mkdir()
    (shared / "weights" / WEIGHTS.name).symlink_to(WEIGHTS)
    named = set(re.findall(r"\.\./shared/audio/([\w.\-]+)", text))  # a glob ('*.au') names none
    for clip in {*SHORT_CLIPS, *named}:
        assert (AUDIO / clip).is_file(), f"the page names a clip that is not in ../shared/audio: {clip}"
        (shared / "audio" / clip).symlink_to(AUDIO / clip)
    return work


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert server.poll() is None, "serve ended before it answered /healthz"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("serve did not answer /healthz")


def start_serve(work: Path, command: str, port: int, env: dict) -> subprocess.Popen:
    """``serve`` keeps running for the blocks after it ("in another terminal"), on ``port``."""
    command = command.split(" #")[0]  # its trailing comment, so that --port is an argument
    command = f"exec {command} --port {port}" if "--port" not in command else f"exec {command}"
    server = subprocess.Popen(["bash", "-c", command], cwd=work, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, server)
    except BaseException:
        stop([server])
        raise
    return server


def stop(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_page(page: Path, work: Path) -> int:
    """Runs the page's commands in order; returns how many ran."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOGENRE_")}
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleaved as on a terminal
    done: set[str] = set()
    servers: list[subprocess.Popen] = []
    port = free_port()
    ran = 0
    try:
        for step in STEPS[page]:
            same = step.command.split(" #")[0].strip()  # the same command with another comment
            if step.needs or (step.expected is None and same in done):
                continue
            done.add(same)
            command = step.command.replace("8080", str(port))
            where = f"{page.relative_to(ROOT)} line {step.line}: `{step.command}`"
            if re.search(r"recogenre serve\b", command):
                assert step.expected is None, f"{where}: show serve's output in a text block"
                servers.append(start_serve(work, command, port, env))
                ran += 1
                continue
            proc = subprocess.run(
                ["bash", "-c", command], cwd=work, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=600,
            )
            ran += 1
            printed = meaningful(STAMP.sub("", proc.stdout).splitlines())
            assert proc.returncode == step.status, (
                f"{where} exited {proc.returncode}, not {step.status}\n" + "\n".join(printed[-60:])
            )
            if step.expected is not None and meaningful(step.expected):
                shown = meaningful(step.expected)
                assert output_matches(shown, printed), (
                    f"{where} printed something else than the page shows.\n--- shown:\n"
                    + "\n".join(shown) + "\n--- printed:\n" + "\n".join(printed)
                )
    finally:
        stop(servers)
    return ran


RUNNABLE = [page for page in PAGES if any(not s.needs for s in STEPS[page])]


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(ROOT)) for p in RUNNABLE])
def test_commands_run_as_written_and_print_what_is_shown(page, tmp_path):
    assert run_page(page, checkout(tmp_path, TEXTS[page])) > 0


def folders_the_docs_create_in_the_checkout() -> set[str]:
    """First components of the relative folders the pages' commands create or write: ``mkdir -p``
    arguments, ``./run_local.sh DIR OUT`` and ``--output``/``--catalogue`` values."""
    found: set[str] = set()
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for args in re.findall(r"mkdir -p ([^&;|`\n]+)", text):
            found.update(shlex.split(args))
        for pair in re.findall(r"run_local\.sh (?!recogenre )([a-z][\w.-]*) ([a-z][\w.-]*)", text):
            found.update(pair)
        found.update(re.findall(r"--(?:output|catalogue) ([a-z][\w.-]*)(?=[\s/`]|$)", text, re.M))
    return {f.split("/")[0] for f in found if not f.startswith(("/", ".", "~", "$"))}


def test_the_folders_the_docs_create_in_the_checkout_are_ignored_by_git():
    """Issue 17: `mylib/`, `mylib-out/`, `labelled/`, `eval/` showed up in `git status`."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    folders = folders_the_docs_create_in_the_checkout()
    assert {"mylib", "mylib-out", "labelled"} <= folders, folders  # the parsing still finds them
    for folder in sorted(folders):
        ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q", f"{folder}/x"], cwd=ROOT)
        assert ignored.returncode == 0, f"{folder}/ (created by a documented command) is not in .gitignore"
