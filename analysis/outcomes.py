"""How a command's work ends when it does not succeed: typed errors that carry their message.

Library functions (``pipeline.run.launch``, the apps) raise these; only the entry
points turn them into printed lines and exit statuses (``recogenre/cli.py``,
``pipeline/main.py``, ``pipeline.run.main``), and the Python API raises them as
they are. Nothing parses printed text to find out what happened. Defined at the
bottom layer so that every layer can raise them.
"""

from __future__ import annotations

EXIT_FAILED = 1  # the work failed, or its result was not published
EXIT_USAGE = 2  # nothing could start: a bad option, missing weights, an unreadable catalogue


class CommandError(Exception):
    """A command could not do its work. ``lines`` are what it says (without ``recogenre:``),
    ``str()`` is them joined with ``; ``, and ``exit_status`` is the command's exit status."""

    exit_status: int = EXIT_FAILED

    def __init__(self, *lines: str, exit_status: int | None = None):
        super().__init__("; ".join(lines))
        self.lines = tuple(lines)
        if exit_status is not None:
            self.exit_status = exit_status

    @property
    def status(self) -> int:
        """The exit status (the name ``recogenre.RunError`` has always had)."""
        return self.exit_status


class UsageError(CommandError, ValueError):
    """A bad option; ``str()`` is the one line to print before exiting with status 2."""

    exit_status = EXIT_USAGE


class RunError(CommandError, RuntimeError):
    """``recogenre run`` failed or its run was not published; the published run is unchanged.

    ``status`` is the command's exit status: 1 the run failed or was not published, 2
    nothing could start (weights, catalogue).
    """


class RunRefused(RunError, ValueError):
    """The run did not start and nothing was written: weights or catalogue unusable (exit
    status 2), or another run holds the output folder (exit status 1, its holder named)."""

    exit_status = EXIT_USAGE
