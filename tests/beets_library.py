"""A real beets library for the tests: made by ``beet import -A`` (no autotagging, no network).

Facts of beets 2.14 that the beets label source and the plugin must handle (seen here):
``items.path`` is a BLOB *relative to the config's ``directory``* when the file is inside it,
and the genres are in ``items.genres``, several values joined by ``\\␀`` (older libraries have
a single ``genre`` column and absolute paths).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BEET = Path(sys.executable).with_name("beet")


@dataclass(frozen=True)
class BeetsLibrary:
    home: Path  # BEETSDIR: config.yaml, library.db
    music: Path  # the library's ``directory``

    @property
    def config(self) -> Path:
        return self.home / "config.yaml"

    @property
    def db(self) -> Path:
        return self.home / "library.db"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECOGENRE_")}
        env["BEETSDIR"] = str(self.home)
        env["HOME"] = str(self.home)  # nothing of the user's own beets config leaks in
        return env

    def beet(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run the real ``beet`` with this library's config; returns the finished process."""
        return subprocess.run(
            [str(BEET), "-c", str(self.config), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=check,
        )


def make_beets_library(home: Path, music: Path, extra_config: str = "") -> BeetsLibrary:
    """A beets library holding every file under ``music``, imported as-is (``beet import -A``).

    ``extra_config`` is appended to config.yaml (e.g. ``plugins: recogenre`` and its section).
    """
    home.mkdir(parents=True, exist_ok=True)
    lib = BeetsLibrary(home, music)
    lib.config.write_text(
        f"directory: {music}\n"
        f"library: {lib.db}\n"
        "import:\n  copy: no\n  move: no\n  write: no\n  resume: no\n  log:\n"
        f"{extra_config}",
        encoding="utf-8",
    )
    lib.beet("import", "-A", "-q", str(music))
    return lib
