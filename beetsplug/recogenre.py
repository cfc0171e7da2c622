"""recogenre's beets plugin: the genres of a recogenre run as attributes of a beets library's items.

Why this file is outside recogenre's layout folders: beets finds a third-party plugin only as a
module of the ``beetsplug`` package (``plugins: recogenre`` imports ``beetsplug.recogenre``), a
PEP 420 namespace package that beets and every plugin distribution share -- hence no
``__init__.py`` here. setup.py installs it beside ``recogenre``. It is a layer above the whole
package (like ``recogenre/`` itself): it reads runs through the public API
(:func:`recogenre.load_snapshot`, :func:`recogenre.classify`) and the product's own path rule,
and nothing in ``recogenre`` imports it, so ``import recogenre`` never needs beets.

Configuration (beets' config.yaml)::

    plugins: recogenre
    recogenre:
        output: /path/to/OUT      # the --output folder of `recogenre run`
        write_genre: no           # also set beets' own genre (beets writes it on `beet write`)
        source: gtzan             # gtzan: the CRNN's genre; user: the user head's (user_genre)
        overwrite: no             # replace a genre the item already has
        min_confidence:           # write no genre below this confidence (like tag --min-confidence)
        auto: no                  # classify items as they are imported
        weights:                  # the import hook's weights (default: recogenre's own lookup)

``beet recogenre [-p] [-w] [-o] [QUERY]`` matches each item to the run's ``tracks`` row of the same file
(both sides through :func:`recogenre.analysis.paths.canonical_file`, the key recogenre stores)
and sets ``recogenre_genre`` and ``recogenre_confidence`` -- and ``recogenre_user_genre`` and
``recogenre_user_confidence`` when the run has a user head's columns.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from beets import ui
from beets.dbcore import types
from beets.library import Item
from beets.plugins import BeetsPlugin
from beets.ui import UserError
from beets.util import displayable_path

GENRE = "recogenre_genre"
CONFIDENCE = "recogenre_confidence"
USER_GENRE = "recogenre_user_genre"
USER_CONFIDENCE = "recogenre_user_confidence"
# snapshot column -> the item's flexible attribute
USER_SOURCE = ("user_genre", "user_confidence")  # run --head's columns
COLUMNS = {"top_genre": GENRE, "confidence": CONFIDENCE, "user_genre": USER_GENRE,
           "user_confidence": USER_CONFIDENCE}  # fmt: skip
# ``source`` -> the attributes the written genre and its confidence come from
SOURCES = {"gtzan": (GENRE, CONFIDENCE), "user": (USER_GENRE, USER_CONFIDENCE)}


def _text(value: Any) -> str | None:
    """A table cell as text; None for null and NaN (pandas reads a null string as None or NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or value != value:
        return None
    return float(value)


# beets keeps a flexible float as text with 15 significant digits: a value read back is not the
# snapshot's to the last bit, and is the same value
FLOAT_TOLERANCE = 1e-12


def _same(stored: Any, value: Any) -> bool:
    if isinstance(value, float) and isinstance(stored, float):
        return abs(stored - value) <= FLOAT_TOLERANCE
    return stored == value


def item_key(item: Item) -> str:
    """The item's file as recogenre stores paths: beets' absolute bytes path, canonical."""
    from recogenre.analysis.paths import canonical_file, from_os_path

    return canonical_file(from_os_path(item.path))


@dataclass
class Counts:
    items: int = 0
    matched: int = 0
    unknown: int = 0
    silent: int = 0
    not_in_snapshot: int = 0
    updated: int = 0
    genre_written: int = 0
    genre_kept: int = 0  # a non-empty genre left alone (overwrite: no)

    def summary(self, pretend: bool) -> str:
        would = "would be " if pretend else ""
        parts = [
            f"{self.items} items",
            f"{self.matched} matched ({self.unknown} unknown"
            + (f", {self.silent} silent" if self.silent else "") + ")",
            f"{self.not_in_snapshot} not in snapshot",
            f"{self.updated} {would}updated",
        ]
        line = "recogenre: " + ", ".join(parts)
        if self.genre_written or self.genre_kept:
            line += f"; genre {would}written on {self.genre_written}"
            if self.genre_kept:
                line += f", {self.genre_kept} kept (overwrite: no)"
        return line


class RecogenrePlugin(BeetsPlugin):
    """``beet recogenre``, and (``auto: yes``) classification of imported items."""

    item_types: ClassVar[dict[str, types.Type]] = {
        GENRE: types.STRING,
        CONFIDENCE: types.NullFloat(3),
        USER_GENRE: types.STRING,
        USER_CONFIDENCE: types.NullFloat(3),
    }

    def __init__(self) -> None:
        super().__init__()
        self.config.add({
            "output": None,
            "write_genre": False,
            "source": "gtzan",
            "overwrite": False,
            "min_confidence": None,
            "auto": False,
            "weights": None,
        })  # fmt: skip
        if self.config["auto"].get(bool):
            self.register_listener("import_task_files", self.imported)

    # ---- configuration ---------------------------------------------------------------------

    def _source(self) -> str:
        source = self.config["source"].get()
        if source not in SOURCES:
            raise UserError(f"recogenre: source must be one of {', '.join(SOURCES)}, not {source!r}")
        return source

    def _min_confidence(self) -> float | None:
        value = self.config["min_confidence"].get()
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise UserError(f"recogenre: min_confidence must be a number from 0 to 1, not {value!r}")
        return float(value)

    def _output(self) -> str:
        if self.config["output"].get() is None:
            raise UserError(
                "recogenre: no output folder configured: set `recogenre: {output: OUT}` in beets' config, "
                "OUT being the --output folder of `recogenre run`"
            )
        return self.config["output"].as_filename()

    # ---- the command -----------------------------------------------------------------------

    def commands(self) -> list[ui.Subcommand]:
        command = ui.Subcommand("recogenre", help="set genres from recogenre's latest run")
        command.parser.add_option("-p", "--pretend", action="store_true", default=False,
                                  help="show what would change, change nothing")  # fmt: skip
        command.parser.add_option("-w", "--write-genre", dest="write_genre", action="store_true",
                                  default=None, help="also set the genre (config: write_genre)")  # fmt: skip
        command.parser.add_option("-o", "--overwrite", dest="overwrite", action="store_true",
                                  default=None, help="replace genres items already have")  # fmt: skip
        command.func = self.command
        return [command]

    def command(self, lib, opts, args) -> None:
        self.config.set_args(opts)  # -w / -o override the config for this call
        source, min_confidence = self._source(), self._min_confidence()
        write_genre, overwrite = self.config["write_genre"].get(bool), self.config["overwrite"].get(bool)
        rows, run_id, columns = self._snapshot_rows(self._output())
        if write_genre and source == "user" and "user_genre" not in columns:
            raise UserError(
                f"recogenre: source: user, but run {run_id} has no user genres (no user head applied: "
                "`recogenre run --head HEAD` adds them)"
            )
        counts = Counts()
        with lib.transaction():
            for item in lib.items(args):
                counts.items += 1
                row = rows.get(item_key(item))
                if row is None:
                    counts.not_in_snapshot += 1
                    continue
                before = _watched(item)
                self._set(item, row, counts)
                if write_genre:
                    self._write_genre(item, source, min_confidence, overwrite, counts)
                if _watched(item) != before:
                    counts.updated += 1
                    if opts.pretend:
                        ui.show_model_changes(item)  # as `beet modify` shows them
                    else:
                        item.store()
        self._log.debug("run {}: {} rows", run_id, len(rows))
        ui.print_(counts.summary(opts.pretend))

    def _snapshot_rows(self, output: str) -> tuple[dict[str, dict[str, Any]], str, list[str]]:
        """{canonical path: {attribute: value}} of the latest run's tracks, its run id, and which of
        :data:`COLUMNS` it has (a run without a user head has no ``user_genre``)."""
        import recogenre
        from recogenre.analysis.paths import canonical_file

        try:
            snapshot = recogenre.load_snapshot(output)
        except FileNotFoundError:
            raise UserError(
                f"recogenre: no published run in {output} (recogenre.output must be the --output folder "
                "of a finished `recogenre run`)"
            ) from None
        except ValueError as e:
            raise UserError(f"recogenre: {e}") from None
        except OSError as e:
            raise UserError(f"recogenre: cannot read the run in {output}: {e}") from None
        tracks = snapshot.tracks
        # a run without --head has the user columns, all null: they count as absent
        present = [
            c for c in COLUMNS if c in tracks.columns and (c not in USER_SOURCE or tracks[c].notna().any())
        ]
        rows: dict[str, dict[str, Any]] = {}
        for record in tracks[["path", *present]].to_dict("records"):
            # both sides canonical: a stored path under a symlinked subfolder keeps the link's name
            rows[canonical_file(record["path"])] = {COLUMNS[c]: record[c] for c in present}
        return rows, snapshot.run_id, present

    @staticmethod
    def _set(item: Item, row: Mapping[str, Any], counts: Counts) -> None:
        """The row's values as the item's attributes; a null removes a stale value."""
        from recogenre.analysis.aggregate import UNKNOWN

        counts.matched += 1
        genre = _text(row.get(GENRE))
        if genre is None:
            counts.silent += 1
        elif genre == UNKNOWN:
            counts.unknown += 1
        for attribute, value in row.items():
            value = _number(value) if attribute in (CONFIDENCE, USER_CONFIDENCE) else _text(value)
            if value is not None:
                if not _same(item.get(attribute), value):
                    item[attribute] = value
            elif attribute in item:  # silent now: no genre, not last run's
                del item[attribute]

    def _write_genre(self, item: Item, source: str, min_confidence: float | None, overwrite: bool,
                     counts: Counts) -> None:  # fmt: skip
        """beets' own genre from the item's recogenre attributes, when sure and allowed."""
        value = genre_value(item, source, min_confidence)
        if value is None:
            return
        current = current_genres(item)
        if current == [value]:
            return
        if current and not overwrite:
            counts.genre_kept += 1
            return
        set_genres(item, [value])
        counts.genre_written += 1

    # ---- the import hook -------------------------------------------------------------------

    def imported(self, session, task) -> None:
        """``auto: yes``: each imported item classified as ``recogenre classify`` would."""
        import recogenre

        source, min_confidence = self._source(), self._min_confidence()
        write_genre, overwrite = self.config["write_genre"].get(bool), self.config["overwrite"].get(bool)
        weights = self.config["weights"].as_filename() if self.config["weights"].get() else None
        for item in task.imported_items():
            path = os.fsdecode(item.path)
            try:
                result = recogenre.classify(item.path, weights=weights)
            except recogenre.WeightsError as e:
                self._log.warning("{}", e)  # beets puts the plugin's name in front
                return  # the same for every item: said once
            except Exception as e:  # a genre not guessed must never fail the import
                self._log.warning("not classified: {}: {}", displayable_path(path), e)
                continue
            vector = result.vector
            row = {GENRE: result.top_genre, CONFIDENCE: vector.confidence}
            self._set(item, row, Counts())
            if write_genre and source == "gtzan":
                self._write_genre(item, source, min_confidence, overwrite, Counts())
            item.store()
            self._log.info("{}: {}", displayable_path(path), result.top_genre)


def genre_value(item: Item, source: str, min_confidence: float | None) -> str | None:
    """The genre to write from the item's attributes, or None: silent, ``unknown``, unsure."""
    from recogenre.analysis.aggregate import UNKNOWN
    from recogenre.analysis.genres import GENRES
    from recogenre.apps.tag_formats import TAG_VALUES

    genre_attribute, confidence_attribute = SOURCES[source]
    genre = item.get(genre_attribute)
    if not genre or genre == UNKNOWN:
        return None
    if min_confidence is not None:
        confidence = item.get(confidence_attribute)
        if confidence is None or confidence < min_confidence:
            return None
    # the CRNN's genres spelled as `recogenre tag` writes them (Hip-Hop); a user head's as named
    return TAG_VALUES[genre] if source == "gtzan" and genre in GENRES else genre


def _watched(item: Item) -> dict[str, Any]:
    """What the command may change on an item (an unchanged float is not set again: see _same)."""
    return {key: item.get(key) for key in (*COLUMNS.values(), _genres_field())}


def _genres_field() -> str:
    """beets 2.14 keeps genres in the multi-valued ``genres`` field (``item.genre = x`` there only
    sets a flexible attribute that no file ever sees); older beets have the single ``genre``."""
    return "genres" if "genres" in Item._fields else "genre"


def current_genres(item: Item) -> list[str]:
    value = item.get(_genres_field())
    values = value if isinstance(value, list) else [value] if value else []
    return [v for v in values if v]


def set_genres(item: Item, values: Iterable[str]) -> None:
    values = list(values)
    item[_genres_field()] = values if _genres_field() == "genres" else "; ".join(values)
