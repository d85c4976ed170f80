"""Parser and evaluator for the Xero ``where`` query parameter (a subset of its .NET-LINQ-like syntax).

Xero documents ``where`` only by example (``ContactStatus=="ACTIVE"``, ``Name.Contains("Peter")``,
``Status=="AUTHORISED" AND Type=="ACCREC"``, ``Date >= DateTime(2020, 01, 01)``). Supported here:

- comparisons ``== != > >= < <=`` between a field path (``Name``, ``Contact.ContactID``) and a literal;
- literals: ``"string"`` (``\\"`` escapes), numbers, ``true``/``false``/``null``, ``Guid("…")``,
  ``DateTime(y, m, d[, h, mi, s])``;
- string methods on a field: ``ToLower()``, ``ToUpper()``, ``Trim()``, ``Contains(x)``,
  ``StartsWith(x)``, ``EndsWith(x)``;
- ``&&``/``AND``, ``||``/``OR``, ``!``/``NOT``, parentheses.

UNCONFIRMED choice: string ``==`` is **case-sensitive** (C# semantics). Whether Xero's backing store compares
case-insensitively is not documented; case-sensitive is the conservative reading for a connector (a lookup that
misses then meets the duplicate-name rule, which it must handle anyway). Use ``Name.ToLower()=="x"`` to fold case.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Resolver = Callable[[str], Any]
Predicate = Callable[[Resolver], bool]


class WhereSyntaxError(ValueError):
    """The ``where`` expression could not be parsed (the emulator answers 400 QueryParseException)."""


_TOKEN_RE = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|>=|<=|&&|\|\||[<>!(),.])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
)""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: str


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise WhereSyntaxError(f"unexpected character at position {pos}: {text[pos : pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        toks.append(_Tok(kind, value))
        # trailing whitespace is consumed by the next match's leading \s*
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return toks


_STRING_METHODS = {"tolower", "toupper", "trim", "contains", "startswith", "endswith"}


def _norm(value: Any) -> Any:
    """Bring dates and datetimes onto one comparable type (naive UTC datetime)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _norm(left), _norm(right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == ">":
            return bool(left > right)
        if op == ">=":
            return bool(left >= right)
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
    except TypeError:
        return False
    raise WhereSyntaxError(f"unknown operator {op}")


Value = Callable[[Resolver], Any]


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise WhereSyntaxError("unexpected end of expression")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok.value != value:
            raise WhereSyntaxError(f"expected {value!r}, got {tok.value!r}")

    def _is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "ident" and tok.value.upper() in words

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise WhereSyntaxError(f"unexpected token {self.peek().value!r}")  # type: ignore[union-attr]
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (self.peek() is not None and self.peek().value == "||") or self._is_word("OR"):  # type: ignore[union-attr]
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while (self.peek() is not None and self.peek().value == "&&") or self._is_word("AND"):  # type: ignore[union-attr]
            self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) for p in parts)

    def not_expr(self) -> Predicate:
        tok = self.peek()
        if tok is not None and (tok.value == "!" or self._is_word("NOT")):
            self.take()
            inner = self.not_expr()
            return lambda r: not inner(r)
        return self.comparison()

    def comparison(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.value == "(":
            # parenthesised boolean expression
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        left = self.operand()
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.value in {"==", "!=", ">", ">=", "<", "<="}:
            op = self.take().value
            right = self.operand()
            return lambda r: _compare(op, left(r), right(r))
        return lambda r: bool(left(r))

    def operand(self) -> Value:
        tok = self.take()
        if tok.kind == "str":
            s = tok.value
            return lambda r: s
        if tok.kind == "num":
            num: float | int = float(tok.value) if "." in tok.value else int(tok.value)
            return lambda r: num
        if tok.kind != "ident":
            raise WhereSyntaxError(f"unexpected token {tok.value!r}")
        word = tok.value
        upper = word.upper()
        if upper in {"TRUE", "FALSE"}:
            b = upper == "TRUE"
            return lambda r: b
        if upper == "NULL":
            return lambda r: None
        nxt = self.peek()
        if upper == "GUID" and nxt is not None and nxt.value == "(":
            self.take()
            g = self.take()
            if g.kind != "str":
                raise WhereSyntaxError("Guid() takes a string")
            self.expect(")")
            gv = g.value.lower()
            return lambda r: gv
        if upper == "DATETIME" and nxt is not None and nxt.value == "(":
            self.take()
            nums: list[int] = []
            while True:
                t = self.take()
                if t.kind != "num":
                    raise WhereSyntaxError("DateTime() takes integers")
                nums.append(int(t.value))
                t = self.take()
                if t.value == ")":
                    break
                if t.value != ",":
                    raise WhereSyntaxError("expected , or )")
            try:
                ymd = [*nums, 0, 0, 0][:6]  # y, m, d[, h, mi, s]
                when = dt.datetime(ymd[0], ymd[1], ymd[2], ymd[3], ymd[4], ymd[5])
            except (TypeError, ValueError) as exc:
                raise WhereSyntaxError(f"bad DateTime: {exc}") from exc
            return lambda r: when
        # field path with optional trailing string method
        parts = [word]
        method: str | None = None
        args: list[Value] = []
        while self.peek() is not None and self.peek().value == ".":  # type: ignore[union-attr]
            self.take()
            ident = self.take()
            if ident.kind != "ident":
                raise WhereSyntaxError("expected a name after '.'")
            nxt = self.peek()
            if nxt is not None and nxt.value == "(" and ident.value.lower() in _STRING_METHODS:
                self.take()
                method = ident.value.lower()
                if self.peek() is not None and self.peek().value != ")":  # type: ignore[union-attr]
                    args.append(self.operand())
                self.expect(")")
                break
            parts.append(ident.value)
        path = ".".join(parts)
        if method is None:
            return lambda r: _field(r, path)
        return _method(path, method, args)


def _field(resolve: Resolver, path: str) -> Any:
    value = resolve(path)
    if isinstance(value, str) and _looks_like_guid(value):
        return value.lower()
    return value


def _looks_like_guid(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def _method(path: str, method: str, args: list[Value]) -> Value:
    def run(resolve: Resolver) -> Any:
        value = resolve(path)
        if value is None:
            return None
        text = str(value)
        if method == "tolower":
            return text.lower()
        if method == "toupper":
            return text.upper()
        if method == "trim":
            return text.strip()
        arg = args[0](resolve) if args else ""
        arg_text = "" if arg is None else str(arg)
        if method == "contains":
            return arg_text in text
        if method == "startswith":
            return text.startswith(arg_text)
        if method == "endswith":
            return text.endswith(arg_text)
        raise WhereSyntaxError(f"unsupported method {method}")

    return run


def compile_where(text: str) -> Predicate:
    """Compile a ``where`` string into a predicate over a field resolver (raises WhereSyntaxError)."""
    toks = _tokenize(text)
    if not toks:
        return lambda r: True
    return _Parser(toks).parse()
