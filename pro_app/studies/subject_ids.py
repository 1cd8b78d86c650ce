"""Check that a study's ``subject_id_pattern`` admits ASCII ids only.

Pure. A subject id goes into SDTM as USUBJID/SUBJID, and SAS XPORT v5 holds
ASCII text only, so a study whose pattern lets in one non-ASCII character
could never have its SDTM files written. It is refused when the protocol is
imported, not found out at export time.

Trying sample ids cannot prove what a pattern admits, so the pattern itself
is read (Python's own regular-expression parser, ``re._parser``) and every
part that consumes a character must be unable to consume a non-ASCII one.
In Python ``\\d``, ``\\w`` and ``\\s`` match non-ASCII digits, letters and
spaces, and ``(?i)`` lets ``k`` match the Kelvin sign: those are refused
unless the pattern is in ASCII mode (``(?a)``), as are ``.``, negated sets
``[^...]``, ``[^x]`` and any range or character past U+007F. Look-ahead and
look-behind consume nothing and are not restricted.
"""

from __future__ import annotations

import re
from re import _parser  # type: ignore[attr-defined]
from typing import Any

_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_ZERO_WIDTH = {"AT", "ASSERT", "ASSERT_NOT", "GROUPREF"}


class NotAscii(ValueError):
    """The pattern can match a character outside ASCII; says which part."""


def ascii_pattern_problem(pattern: str) -> str | None:
    """Return why a subject-id pattern is refused, or None if it is fine."""
    try:
        parsed = _parser.parse(pattern)
    except re.error as error:
        return f"is not a regular expression: {error}"
    try:
        _check(parsed.data, parsed.state.flags)
    except NotAscii as error:
        return (
            f"can match a non-ASCII character ({error}); SAS XPORT (SDTM) holds "
            "ASCII ids only: use [A-Za-z0-9] rather than \\w or \\d, or start "
            "the pattern with (?a)"
        )
    return None


def _check(items: Any, flags: int) -> None:
    ascii_mode = bool(flags & re.ASCII)
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            _literal(av, flags)
        elif name in ("NOT_LITERAL", "ANY"):
            raise NotAscii("'.' or [^x] matches any other character")
        elif name == "IN":
            _in(av, flags)
        elif name == "BRANCH":
            for branch in av[1]:
                _check(branch.data, flags)
        elif name == "SUBPATTERN":
            _group, add, remove, inner = av
            _check(inner.data, (flags | add) & ~remove)
        elif name in _REPEATS:
            _check(av[2].data, flags)
        elif name == "ATOMIC_GROUP":
            _check(av.data, flags)
        elif name == "GROUPREF_EXISTS":
            _check(av[1].data, flags)
            if av[2] is not None:
                _check(av[2].data, flags)
        elif name == "CATEGORY":
            if not ascii_mode:
                raise NotAscii("\\d, \\w or \\s outside ASCII mode")
        elif name not in _ZERO_WIDTH:
            raise NotAscii(f"unsupported part {name}")


def _literal(code: int, flags: int) -> None:
    if code > 0x7F:
        raise NotAscii(f"{chr(code)!r}")
    # Without (?a), (?i) folds k to the Kelvin sign, s to the long s...
    if flags & re.IGNORECASE and not flags & re.ASCII and chr(code).isalpha():
        raise NotAscii("(?i) outside ASCII mode")


def _in(items: Any, flags: int) -> None:
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            raise NotAscii("[^...] matches every other character")
        if name == "LITERAL":
            _literal(av, flags)
        elif name == "RANGE":
            _literal(av[0], flags)
            _literal(av[1], flags)
        elif name == "CATEGORY":
            if not flags & re.ASCII:
                raise NotAscii("\\d, \\w or \\s outside ASCII mode")
        else:
            raise NotAscii(f"unsupported part {name}")
