"""The slice of OData ``$filter`` Graph accepts for devices and managed devices.

``prop eq|ne literal``, ``startswith(prop,'text')``, ``and``/``or``/``not`` and parentheses. String literals
are quoted with ``'`` and escape it by doubling (``'O''Brien'``). Matches ignore case, as the directory does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z0-9_.:/\-@$]+))")
_KEYWORDS = {"eq", "ne", "and", "or", "not", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "endswith", "contains"}


class FilterError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"Syntax error at position {pos} in '{text}'.")
        pos = m.end()
        if m.group("str") is not None:
            out.append(("str", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("punct"):
            out.append(("punct", m.group("punct")))
        else:
            word = m.group("word")
            out.append(("kw" if word.lower() in _KEYWORDS else "word", word))
    return out


class _Parser:
    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, kind=None, value=None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v = self.toks[self.i]
        return (kind is None or k == kind) and (value is None or v.lower() == value)

    def take(self, kind=None, value=None) -> str:
        if not self.peek(kind, value):
            found = self.toks[self.i][1] if self.i < len(self.toks) else "end of input"
            raise FilterError(f"Syntax error: expected {value or kind} but found '{found}'.")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self):
        if not self.toks:
            raise FilterError("The $filter expression is empty.")
        node = self.or_expr()
        if self.i != len(self.toks):
            raise FilterError(f"Syntax error at '{self.toks[self.i][1]}'.")
        return node

    def or_expr(self):
        items = [self.and_expr()]
        while self.peek("kw", "or"):
            self.i += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr(self):
        items = [self.unary()]
        while self.peek("kw", "and"):
            self.i += 1
            items.append(self.unary())
        return items[0] if len(items) == 1 else ("and", items)

    def unary(self):
        if self.peek("kw", "not"):
            self.i += 1
            return ("not", self.unary())
        if self.peek("punct", "("):
            self.i += 1
            node = self.or_expr()
            self.take("punct", ")")
            return node
        name = self.take("word")
        if name.lower() in FUNCTIONS and self.peek("punct", "("):
            self.i += 1
            prop = self.take("word")
            self.take("punct", ",")
            value = self.literal()
            self.take("punct", ")")
            return ("func", name.lower(), prop, value)
        if not self.peek("kw"):
            raise FilterError(f"Syntax error: expected an operator after '{name}'.")
        op = self.take("kw").lower()
        if op not in ("eq", "ne", "gt", "ge", "lt", "le"):
            raise FilterError(f"Syntax error: unexpected '{op}'.")
        return ("cmp", name, op, self.literal())

    def literal(self):
        if self.peek("str"):
            return self.take("str")
        word = self.take("word")
        low = word.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        if re.fullmatch(r"-?\d+(\.\d+)?", word) or re.fullmatch(r"[0-9a-fA-F-]{36}", word):
            return word
        raise FilterError(f"Syntax error: '{word}' is not a literal.")


def parse(text: str):
    return _Parser(text).parse()


def properties(node) -> set[str]:
    kind = node[0]
    if kind == "cmp":
        return {node[1]}
    if kind == "func":
        return {node[2]}
    if kind == "not":
        return properties(node[1])
    return set().union(*(properties(n) for n in node[1]))


def functions(node) -> set[str]:
    kind = node[0]
    if kind == "func":
        return {node[1]}
    if kind == "cmp":
        return set()
    if kind == "not":
        return functions(node[1])
    return set().union(*(functions(n) for n in node[1]))


def or_clauses(node) -> int:
    """The most child clauses any ``or`` of ``node`` joins (nested ``or``s count as one flat list)."""
    kind = node[0]
    if kind == "or":
        flat = sum(or_clauses(n) if n[0] == "or" else 1 for n in node[1])
        return max([flat] + [or_clauses(n) for n in node[1] if n[0] != "or"])
    if kind == "and":
        return max(or_clauses(n) for n in node[1])
    if kind == "not":
        return or_clauses(node[1])
    return 0


def _low(value):
    return value.lower() if isinstance(value, str) else value


def evaluate(node, get: Callable[[str], object]) -> bool:
    kind = node[0]
    if kind == "and":
        return all(evaluate(n, get) for n in node[1])
    if kind == "or":
        return any(evaluate(n, get) for n in node[1])
    if kind == "not":
        return not evaluate(node[1], get)
    if kind == "func":
        _, fn, prop, value = node
        actual = str(get(prop) or "").lower()
        text = str(value).lower()
        return {"startswith": actual.startswith, "endswith": actual.endswith, "contains": lambda t: t in actual}[fn](text)
    _, prop, op, value = node
    a, b = _low(get(prop)), _low(value)
    if op in ("eq", "ne"):
        return (a == b) == (op == "eq")
    if a is None or b is None:
        return False
    a, b = str(a), str(b)
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]


def exact_values(node, prop: str) -> set[str] | None:
    """Lower-cased values ``prop`` must equal for ``node`` to hold, or None if ``node`` does not pin it."""
    kind = node[0]
    if kind == "cmp":
        if node[1] == prop and node[2] == "eq" and isinstance(node[3], str):
            return {node[3].lower()}
        return None
    if kind == "and":
        for n in node[1]:
            found = exact_values(n, prop)
            if found is not None:
                return found
        return None
    if kind == "or":
        out: set[str] = set()
        for n in node[1]:
            found = exact_values(n, prop)
            if found is None:
                return None
            out |= found
        return out
    return None
