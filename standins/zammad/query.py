"""Elasticsearch's query_string as the search with an index uses it: what its parser refuses
(Zammad then answers no hits) and the subset the stand-in evaluates in memory."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any

from standins.zammad.refusal import unprocessable
from standins.zammad.values import condition_text, parse_time

# Query tokens: field:[a TO b], field:"quoted", "quoted", or anything without spaces.
RANGE_OPERATORS = (">=", "<=", ">", "<")  # Elasticsearch query_string: field:>=value


class QuerySyntaxError(ValueError):
    """A query Elasticsearch's query_string parser refuses (HTTP 400 from Elasticsearch)."""


def parse_query(
    query: str, field_of: Callable[[Mapping[str, Any], str], Any]
) -> list[Callable[[Mapping[str, Any]], bool]]:
    """Elasticsearch's query_string, the subset the stand-in evaluates: terms and phrases,
    ``field:value`` (``?`` wildcards), ``field:>=value`` (also > < <=) and
    ``field:[a TO b]``, joined by spaces or AND (search_by_index: default_operator AND);
    values may be quoted or escaped with ``\\``. What the parser refuses raises
    QuerySyntaxError; valid syntax beyond the subset is a 422 of the stand-in."""
    predicates: list[Callable[[Mapping[str, Any]], bool]] = []
    for name, kind, text in _query_clauses(query):
        if kind == "operator":
            if text in ("AND", "&&"):
                continue
            raise unprocessable(f"stand-in: query operator {text!r} is not supported")
        if kind in ("group", "regex") or text.startswith(("{", "+", "-", "!")):
            raise unprocessable(f"stand-in: query syntax {text!r} is not supported")
        if kind == "phrase":
            value, op = _unescape(text[1:-1]), None
        elif kind == "range":
            value, op = text, None
        else:
            value = _unescape(text)
            op = next((o for o in RANGE_OPERATORS if name and value.startswith(o)), None)
            value = value[len(op) :] if op else value
            if op and not value:
                raise unprocessable(f"stand-in: query syntax {text!r} is not supported")
        if name is None:
            predicates.append(_free_text(value, field_of))
        else:
            predicates.append(_field_predicate(name, op, value, field_of))
    return predicates


def _free_text(term: str, field_of: Callable[[Mapping[str, Any], str], Any]) -> Callable[..., bool]:
    needle = term.lower()

    def match(view: Mapping[str, Any]) -> bool:
        for name in ("title", "number", "name", "note"):
            value = view.get(name)
            if isinstance(value, str) and needle in value.lower():
                return True
        # custom attribute values match whole (an ES term, not a substring)
        return any(isinstance(v, str) and v.lower() == needle for v in view.values())

    return match


def _field_predicate(
    name: str,
    op: str | None,
    value: str,
    field_of: Callable[[Mapping[str, Any], str], Any],
) -> Callable[[Mapping[str, Any]], bool]:
    if op is None and value.startswith("[") and value.endswith("]"):
        low, _, high = value[1:-1].partition(" TO ")
        low, high = low.strip(), high.strip()

        def in_range(view: Mapping[str, Any]) -> bool:
            actual = field_of(view, name)
            return (low == "*" or _compare(actual, ">=", low)) and (
                high == "*" or _compare(actual, "<=", high)
            )

        return in_range
    if op is not None:
        return lambda view: _compare(field_of(view, name), op, value)

    def equals(view: Mapping[str, Any]) -> bool:
        actual = field_of(view, name)
        candidates = actual if isinstance(actual, list) else [actual]
        for candidate in candidates:
            text = condition_text(candidate).lower()
            if "*" in value or "?" in value:
                if fnmatch.fnmatchcase(text, value.lower()):
                    return True
            elif text == value.lower():
                return True
        return False

    return equals


def _compare(actual: object, op: str, expected: str) -> bool:
    if actual is None:
        return False
    left: Any
    right: Any
    left_time, right_time = parse_time(actual), parse_time(expected)
    if left_time is not None and right_time is not None:
        left, right = left_time, right_time
    else:
        try:
            left, right = float(str(actual)), float(expected)
        except ValueError:
            left, right = condition_text(actual).lower(), expected.lower()
    return {
        ">=": left >= right,
        ">": left > right,
        "<=": left <= right,
        "<": left < right,
    }[op]


# Elasticsearch's query_string parser (Lucene's classic syntax), as far as the stand-in
# needs to know what it refuses.
_QUERY_SPECIAL = frozenset('"/():[]{}')


_QUERY_CLOSERS = {'"': '"', "/": "/", "[": "]}", "{": "]}"}


_QUERY_KINDS = {'"': "phrase", "/": "regex", "[": "range", "{": "range"}


def _query_tokens(query: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: word, phrase ("…"), regex (/…/), range ([… TO …]), lparen,
    rparen, colon. Raises QuerySyntaxError for an unclosed phrase, regex or range, a stray
    closing bracket and a trailing backslash."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in _QUERY_CLOSERS:
            end = _closing(query, i + 1, _QUERY_CLOSERS[char], escapes=char in '"/')
            if end < 0:
                raise QuerySyntaxError(f"unclosed {char} at {i}")
            tokens.append((_QUERY_KINDS[char], query[i : end + 1]))
            i = end + 1
        elif char in "]}":
            raise QuerySyntaxError(f"unexpected {char} at {i}")
        elif char in "():":
            tokens.append(({"(": "lparen", ")": "rparen", ":": "colon"}[char], char))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _QUERY_SPECIAL:
                if query[i] == "\\":
                    if i + 1 >= n:
                        raise QuerySyntaxError("a trailing backslash")
                    i += 1
                i += 1
            tokens.append(("word", query[start:i]))
    return tokens


def _closing(text: str, start: int, closers: str, *, escapes: bool) -> int:
    i = start
    while i < len(text):
        if escapes and text[i] == "\\":
            i += 2
            continue
        if text[i] in closers:
            return i
        i += 1
    return -1


def _query_clauses(query: str) -> list[tuple[str | None, str, str]]:
    """(field or None, kind, text) clauses; kind "operator" for AND OR NOT && ||, "group" for
    an opening parenthesis. A ':' must follow a field name and be followed by a value: `a:`,
    `:b` and `a:b:c` (an unescaped ':' in a value, such as a time) raise QuerySyntaxError,
    as do unbalanced parentheses and an operator at either end."""
    tokens = _query_tokens(query)
    clauses: list[tuple[str | None, str, str]] = []
    depth = 0
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        i += 1
        if kind == "rparen":
            depth -= 1
            if depth < 0:
                raise QuerySyntaxError("unbalanced )")
            continue
        if kind == "colon":
            raise QuerySyntaxError("':' without a field name before it")
        if kind == "word" and text in ("AND", "OR", "NOT", "&&", "||"):
            clauses.append((None, "operator", text))
            continue
        name = None
        if kind == "word" and i < len(tokens) and tokens[i][0] == "colon":
            name = _unescape(text)
            i += 1
            if i >= len(tokens) or tokens[i][0] in ("colon", "rparen"):
                raise QuerySyntaxError(f"nothing after {text}:")
            kind, text = tokens[i]
            i += 1
        if kind == "lparen":
            depth += 1
            clauses.append((name, "group", text))
            continue
        clauses.append((name, kind, text))
    if depth:
        raise QuerySyntaxError("unbalanced (")
    first, last = (clauses[0], clauses[-1]) if clauses else ((None, "", ""), (None, "", ""))
    if (first[1] == "operator" and first[2] != "NOT") or last[1] == "operator":
        raise QuerySyntaxError("an operator without an operand")
    return clauses


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
