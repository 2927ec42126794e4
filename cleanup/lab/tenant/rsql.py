"""A small RSQL (FIQL) parser and evaluator, as Jamf Pro's ``filter`` parameter accepts.

Grammar: ``or := and (',' and)*``, ``and := term (';' term)*``, ``term := '(' or ')' | field op args``.
Operators ``== != < <= > >= =lt= =le= =gt= =ge= =in= =out=``; values bare or quoted ("..." / '...' with
backslash escapes); ``*`` is a wildcard inside ``==``/``!=`` values. String matches ignore case (as Jamf's
database collation does).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_OPS = ("=in=", "=out=", "=lt=", "=le=", "=gt=", "=ge=", "==", "!=", "<=", ">=", "<", ">")
_ALIASES = {"=lt=": "<", "=le=": "<=", "=gt=": ">", "=ge=": ">="}
_SELECTOR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_RESERVED = set("\"'();,=!~<> \t")


class RsqlError(ValueError):
    """A malformed filter (the message says where)."""


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, what: str):
        raise RsqlError(f"{what} at position {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self):
        if not self.text.strip():
            self.fail("empty filter")
        node = self.or_expr()
        if self.pos != len(self.text):
            self.fail(f"unexpected {self.text[self.pos]!r}")
        return node

    def or_expr(self):
        items = [self.and_expr()]
        while self.peek() == ",":
            self.pos += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr(self):
        items = [self.term()]
        while self.peek() == ";":
            self.pos += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else ("and", items)

    def term(self):
        if self.peek() == "(":
            self.pos += 1
            node = self.or_expr()
            if self.peek() != ")":
                self.fail("missing ')'")
            self.pos += 1
            return node
        m = _SELECTOR.match(self.text, self.pos)
        if not m:
            self.fail("expected a field name")
        self.pos = m.end()
        op = next((o for o in _OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            self.fail("expected a comparison operator")
        self.pos += len(op)
        op = _ALIASES.get(op, op)
        if op in ("=in=", "=out="):
            if self.peek() != "(":
                self.fail(f"{op} needs a parenthesised list")
            self.pos += 1
            values = [self.value()]
            while self.peek() == ",":
                self.pos += 1
                values.append(self.value())
            if self.peek() != ")":
                self.fail("missing ')'")
            self.pos += 1
        else:
            values = [self.value()]
        return ("cmp", m.group(0), op, values)

    def value(self) -> tuple[str, bool]:
        """(text, quoted)."""
        quote = self.peek()
        if quote in ("'", '"'):
            self.pos += 1
            out = []
            while True:
                ch = self.peek()
                if not ch:
                    self.fail("unterminated quoted value")
                self.pos += 1
                if ch == "\\":
                    nxt = self.peek()
                    if not nxt:
                        self.fail("dangling escape")
                    out.append(nxt)
                    self.pos += 1
                elif ch == quote:
                    return "".join(out), True
                else:
                    out.append(ch)
        start = self.pos
        while self.peek() and self.peek() not in _RESERVED:
            self.pos += 1
        if start == self.pos:
            self.fail("expected a value")
        return self.text[start : self.pos], False


def parse(text: str):
    return _Parser(text).parse()


def fields_of(node) -> set[str]:
    if node[0] == "cmp":
        return {node[1]}
    return set().union(*(fields_of(n) for n in node[1]))


def _wild(pattern: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.IGNORECASE | re.DOTALL)


def _norm(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _key(text: str):
    return (0, int(text), "") if text.isdigit() else (1, 0, text.lower())


def evaluate(node, get: Callable[[str], object]) -> bool:
    kind = node[0]
    if kind == "and":
        return all(evaluate(n, get) for n in node[1])
    if kind == "or":
        return any(evaluate(n, get) for n in node[1])
    _, field, op, values = node
    actual = _norm(get(field))
    if op in ("==", "!="):
        text = values[0][0]
        hit = _wild(text).match(actual) is not None if "*" in text else actual.lower() == text.lower()
        return hit if op == "==" else not hit
    if op in ("=in=", "=out="):
        hit = actual.lower() in {v.lower() for v, _ in values}
        return hit if op == "=in=" else not hit
    a, b = _key(actual), _key(values[0][0])
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def exact_values(node, field: str) -> set[str] | None:
    """Values ``field`` must equal (no wildcard) for ``node`` to hold, or None if not so constrained."""
    kind = node[0]
    if kind == "cmp":
        _, f, op, values = node
        if f == field and op in ("==", "=in=") and not any("*" in v for v, _ in values):
            return {v.upper() for v, _ in values}
        return None
    if kind == "and":
        for n in node[1]:
            found = exact_values(n, field)
            if found is not None:
                return found
        return None
    out: set[str] = set()
    for n in node[1]:
        found = exact_values(n, field)
        if found is None:
            return None
        out |= found
    return out
