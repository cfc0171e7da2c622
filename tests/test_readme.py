"""Every shell command in README.md runs as written, or says why it cannot run here.

The convention (also stated at the top of README.md):

- Every fenced block tagged ``sh``, ``bash``, ``shell`` or ``console`` is a list of
  commands, run from the repository root after ``./run_local.sh`` set-up. Lines joined
  by a trailing backslash are one command; ``#`` comments are ignored.
- A block whose first line is ``# needs: REASON`` (a cloud account, a cluster, a
  download, your own music folder) is not run here; so is a single command that ends
  in ``# needs: REASON``. The reason must be said.
- Nothing may start with a bare ``recogenre``: it is not on PATH. Use
  ``./run_local.sh recogenre …`` or ``.venv/bin/recogenre …``.
- Placeholders in capitals (``DIR``, ``OUT``, ``SRC``) are not commands: put such
  synopses in a ``text`` block, or mark them ``# needs:``.

How it runs, to stay within a minute or two: in a scratch checkout beside a scratch
``shared/`` (so ``../shared/audio`` and ``./output`` resolve as in the real checkout)
where ``run_local.sh``, ``.venv``, ``setup.py``, ``requirements.lock`` and the source
folders are links to this checkout, and ``../shared/audio`` holds only the short
clips (die.au, disco.00000.au, metal.00000.au) plus any other clip a command names.
A command identical to one already run (comments aside) is not run again. ``serve`` is started in the
background on a free port (the block's ``8080`` is replaced by it), waited for on
``/healthz`` and stopped by its pid when the block ends.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import AUDIO, ROOT, WEIGHTS

README = ROOT / "README.md"
SHELLS = {"sh", "bash", "shell", "console"}
NEEDS = re.compile(r"#\s*needs:\s*(\S.*)$")
SHORT_CLIPS = ("die.au", "disco.00000.au", "metal.00000.au")
LINKED = ("run_local.sh", ".venv", "setup.py", "requirements.lock", "pipeline", "transforms", "apps",
          "recogenre", "benchmarks", "tests", "weights", "pytest.ini", "ruff.toml")


def shell_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(line number, lines) of every shell block."""
    blocks, current, start, lang = [], None, 0, None
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence and current is None:
            lang, current, start = fence.group(1).lower(), [], number
        elif fence:
            if lang in SHELLS:
                blocks.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def commands(lines: list[str]) -> list[str]:
    """Logical commands: backslash continuations joined, blank and comment-only lines dropped."""
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


def block_needs(lines: list[str]) -> str | None:
    first = next((ln for ln in lines if ln.strip()), "")
    m = NEEDS.match(first.strip())
    return m.group(1) if m else None


def command_needs(command: str) -> str | None:
    m = NEEDS.search(command)
    return m.group(1) if m else None


BLOCKS = shell_blocks(README.read_text())


def test_readme_has_shell_blocks_and_none_starts_with_a_bare_recogenre():
    assert BLOCKS, "no shell block found: was the fence language changed?"
    bare = [
        (n, c)
        for n, lines in BLOCKS
        for c in commands(lines)
        if re.match(r"^(\S+=\S+\s+)*recogenre\b", c)
    ]
    assert not bare, f"bare `recogenre` is not on PATH; use ./run_local.sh or .venv/bin/recogenre: {bare}"


def test_every_skipped_block_says_why():
    for n, lines in BLOCKS:
        for line in lines:
            if "needs:" in line:
                assert NEEDS.search(line), f"README line {n}: malformed marker {line!r}"


def test_no_placeholders_in_commands_that_run():
    for n, lines in BLOCKS:
        if block_needs(lines):
            continue
        for c in commands(lines):
            if command_needs(c):
                continue
            words = [w for w in shlex.split(c, comments=True) if re.fullmatch(r"[A-Z][A-Z_]+\b.*", w)]
            assert not words, f"README block at line {n}: placeholder {words} in `{c}`; mark it # needs:"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A scratch checkout beside a scratch shared/ with the short clips and the real weights."""
    base = tmp_path_factory.mktemp("readme")
    work = base / "checkout"
    work.mkdir()
    for name in LINKED:
        if (ROOT / name).exists():
            (work / name).symlink_to(ROOT / name)
    shared = base / "shared"
    (shared / "audio").mkdir(parents=True)
    (shared / "weights").mkdir()
    (shared / "weights" / WEIGHTS.name).symlink_to(WEIGHTS)
    named = set(re.findall(r"\.\./shared/audio/([\w.\-]+)", README.read_text()))
    for clip in {*SHORT_CLIPS, *named}:
        assert (AUDIO / clip).is_file(), f"README names a clip that is not in ../shared/audio: {clip}"
        (shared / "audio" / clip).symlink_to(AUDIO / clip)
    return work


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert server.poll() is None, server.stderr.read()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("serve did not answer /healthz")


def run_block(work: Path, number: int, lines: list[str], done: set[str], port: int, servers: list) -> None:
    """Runs a block's commands; a ``serve`` it starts keeps running for the blocks after it
    ("in another terminal"), on ``port`` instead of 8080, until the test stops it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOGENRE_")}
    for command in commands(lines):
        same = command.split(" #")[0].strip()  # the same command with another comment
        if command_needs(command) or same in done:
            continue
        done.add(same)
        command = command.replace("8080", str(port))
        if re.search(r"recogenre serve\b", command):
            command = command.split(" #")[0]  # its trailing comment, so that --port is an argument
            command = f"exec {command} --port {port}" if "--port" not in command else f"exec {command}"
            server = subprocess.Popen(
                ["bash", "-c", command], cwd=work, env=env, stderr=subprocess.DEVNULL, text=True
            )
            servers.append(server)
            wait_healthy(port, server)
            continue
        proc = subprocess.run(
            ["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, (
            f"README line {number}: `{command}` exited {proc.returncode}\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )


def stop(servers: list) -> None:
    for server in servers:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_readme_commands_run_as_written(checkout):
    done: set[str] = set()
    servers: list[subprocess.Popen] = []
    port = free_port()
    ran = 0
    try:
        for number, lines in BLOCKS:
            if block_needs(lines):
                continue
            run_block(checkout, number, lines, done, port, servers)
            ran += 1
    finally:
        stop(servers)
    assert ran >= 3
