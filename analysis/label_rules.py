"""Cleaning the labels a user's library already has, before a head learns from them.

Library labels are messy: ``Hip-Hop``, ``hip hop`` and ``Rap`` are one class to their owner,
``Rock/Punk`` and ``Rock---Punk`` (a folder tree, a tag written by another tool) are one
hierarchical label. The steps, in order, for every value a track has:

1. **normalise**: split into levels at ``/``, ``---``, ``>`` and ``::`` (hierarchy separators);
   each level Unicode-NFKC, case-folded, ``&`` read as ``and``, ``-``, ``_`` and ``.`` read as
   spaces, other punctuation removed, spaces collapsed; empty levels dropped; the levels
   joined by ``/`` (``Rock---Punk`` -> ``rock/punk``, ``Hip-Hop`` -> ``hip hop``);
2. **mapping** (``--mapping FILE``): the first rule whose pattern matches the normalised label
   replaces it (see :func:`parse_mapping` for the format); a rule whose target is ``-``
   drops the label;
3. **ignore** (``--ignore PATTERN``): labels matching any pattern are dropped.

Patterns are normalised like labels, with ``*`` (any text) and ``?`` (one character) kept as
wildcards (``fnmatch``), and match the whole label path (``rock/*`` matches ``rock/punk``).

A track with several values (multi-valued tags) keeps the deepest surviving value when the
others are its ancestors (``rock`` + ``rock/punk`` -> ``rock/punk``), otherwise the first.
Classes under ``min_tracks`` first back off to their parent (``rock/punk`` -> ``rock``) and
are then left out if still too small (:func:`apply_minimum`).
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

LEVEL_SEPARATORS = re.compile(r"\s*(?:/|---|>|::)\s*")
DROP = "-"  # a mapping target that drops the label
_ARROW = "->"
_PUNCTUATION_AS_SPACE = re.compile(r"[-_.]+")
_OTHER = re.compile(r"[^\w\s*?]+")  # what remains of punctuation after the above (wildcards kept)
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = re.compile(r"^[^\w]+|[^\w]+$")


def _level(text: str, keep_wildcards: bool) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    text = _PUNCTUATION_AS_SPACE.sub(" ", text)
    text = _OTHER.sub("", text)
    if not keep_wildcards:
        text = text.replace("*", "").replace("?", "")
    return _SPACES.sub(" ", text).strip()


def normalise(label: str, keep_wildcards: bool = False) -> str:
    """``"Rock---Punk"`` -> ``"rock/punk"``; ``""`` when nothing is left."""
    levels = [_level(part, keep_wildcards) for part in LEVEL_SEPARATORS.split(str(label))]
    return "/".join(level for level in levels if level)


class MappingError(ValueError):
    """A mapping file line that is not a rule."""


@dataclass(frozen=True)
class Rule:
    patterns: tuple[str, ...]  # normalised, wildcards kept
    target: str  # normalised label, or DROP
    text: str  # the line as written, for the report and the head
    spelled: str = ""  # the target as written ("Hip-Hop"): how the class is spelled in the results

    def matches(self, label: str) -> bool:
        return any(fnmatch.fnmatchcase(label, p) for p in self.patterns)


def parse_mapping(text: str, name: str = "mapping") -> list[Rule]:
    """Rules, one a line: ``PATTERN | PATTERN ... -> TARGET``; ``#`` starts a comment.

    ``hip hop | hip-hop | rap -> hiphop``, ``* rock -> rock``, ``punk -> rock/punk`` (a target may
    be a hierarchical label), ``spoken word -> -`` (drop). Raises :class:`MappingError`
    naming the line for anything else.
    """
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.count(_ARROW) != 1:
            raise MappingError(
                f"{name} line {number}: expected 'PATTERN | PATTERN -> TARGET', got {raw.strip()!r}"
            )
        left, right = (part.strip() for part in line.split(_ARROW))
        patterns = tuple(p for p in (normalise(x, keep_wildcards=True) for x in left.split("|")) if p)
        target = DROP if right == DROP else normalise(right)
        if not patterns or not target:
            raise MappingError(f"{name} line {number}: a rule needs a pattern and a target: {raw.strip()!r}")
        if any(c in target for c in "*?"):
            raise MappingError(f"{name} line {number}: a target cannot have wildcards: {raw.strip()!r}")
        rules.append(Rule(patterns, target, line, right))
    return rules


@dataclass
class Cleaned:
    """One track's label after cleaning, and what happened to its values."""

    label: str | None
    steps: list[str] = field(default_factory=list)  # "Hip-Hop -> hip hop -> hiphop (rule 1)", ...


def clean_values(values: Sequence[str], rules: Sequence[Rule], ignore: Sequence[str]) -> Cleaned:
    """The track's label from its raw values (normalise, map, ignore, pick one; see the module doc)."""
    ignore_patterns = [p for p in (normalise(x, keep_wildcards=True) for x in ignore) if p]
    kept: list[str] = []
    steps = []
    for raw in values:
        label = normalise(raw)
        if not label:
            steps.append(f"{raw!r}: empty after normalising")
            continue
        for number, rule in enumerate(rules, start=1):
            if rule.matches(label):
                label = rule.target
                steps.append(f"{raw!r}: mapped by rule {number} to {label}")
                break
        if label == DROP:
            continue
        if any(fnmatch.fnmatchcase(label, p) for p in ignore_patterns):
            steps.append(f"{raw!r}: ignored")
            continue
        kept.append(label)
    kept = list(dict.fromkeys(kept))
    if not kept:
        return Cleaned(None, steps)
    # The deepest value whose ancestors are the others; otherwise the first.
    deepest = max(kept, key=lambda k: k.count("/"))
    if all(deepest == k or deepest.startswith(k + "/") for k in kept):
        return Cleaned(deepest, steps)
    steps.append(f"several labels {', '.join(kept)}: the first kept")
    return Cleaned(kept[0], steps)


@dataclass
class Minimum:
    """What :func:`apply_minimum` did: labels after it, classes backed off to a parent, classes left out."""

    labels: list[str | None]
    backed_off: dict[str, str]  # class -> the parent its tracks joined
    left_out: dict[str, int]  # class -> its tracks


def apply_minimum(labels: Iterable[str | None], min_tracks: int) -> Minimum:
    """Classes with fewer than ``min_tracks`` tracks join their parent (repeatedly, deepest first);
    those still too small (or without a parent) are left out (their tracks' label becomes None)."""
    labels = list(labels)
    backed_off: dict[str, str] = {}
    while True:
        counts = Counter(x for x in labels if x is not None)
        small = [c for c, n in counts.items() if n < min_tracks and "/" in c]
        if not small:
            break
        deepest = max(c.count("/") for c in small)
        moving = {c: c.rsplit("/", 1)[0] for c in small if c.count("/") == deepest}
        for c, parent in moving.items():
            backed_off[c] = parent
        labels = [moving.get(x, x) if x is not None else None for x in labels]
    counts = Counter(x for x in labels if x is not None)
    left_out = {c: n for c, n in sorted(counts.items()) if n < min_tracks}
    labels = [None if x in left_out else x for x in labels]
    # A class that backed off into a parent which was then left out: report the final fate.
    return Minimum(labels, backed_off, left_out)


def spelling(pairs: Iterable[tuple[str, str]], rules: Sequence[Rule] = ()) -> Callable[[str], str]:
    """A class name (normalised: ``hip hop``, ``rock/punk``) -> the user's own spelling of it.

    Matching needs normalised labels, but the results (``user_genre``, the tags ``recogenre tag
    --source user`` writes) should read in the library's own vocabulary: ``Hip-Hop``, not
    ``hip hop``. Each level of a class path is spelled as a mapping rule's target writes it,
    else as the library's raw values (``pairs``: raw value, its cleaned label) most often
    spell it, else left normalised. Level by level, so a parent and its children agree
    (``Rock`` and ``Rock/Punk``).
    """
    votes: dict[str, Counter] = defaultdict(Counter)
    written: dict[str, str] = {}

    def trimmed(level: str) -> str:  # "DRONE!" -> "DRONE"; inner punctuation stays: "Hip-Hop", "R&B"
        return _EDGE_PUNCTUATION.sub("", level.strip())

    for rule in rules:
        if rule.target != DROP and rule.spelled:
            levels = [trimmed(p) for p in LEVEL_SEPARATORS.split(rule.spelled) if _level(p, False)]
            for i in range(len(levels)):
                written.setdefault("/".join(_level(p, False) for p in levels[: i + 1]), levels[i])
    for raw, label in pairs:
        levels = [trimmed(p) for p in LEVEL_SEPARATORS.split(str(raw)) if _level(p, False)]
        norm = [_level(p, False) for p in levels]
        if "/".join(norm) != label:
            continue  # a mapped value: its spelling is the rule's
        for i in range(len(levels)):
            votes["/".join(norm[: i + 1])][levels[i]] += 1

    def spell(name: str) -> str:
        parts = name.split("/")
        out = []
        for i, part in enumerate(parts):
            key = "/".join(parts[: i + 1])
            counted = votes.get(key)
            out.append(written.get(key) or (counted.most_common(1)[0][0] if counted else part))
        return "/".join(out)

    return spell
