"""Parser for the QuickBooks Online query language (the subset connectors use).

Grammar (keywords case-insensitive)::

    SELECT (* | COUNT(*) | field[, field...]) FROM Entity
        [WHERE cond (AND cond)*]
        [ORDERBY field [ASC|DESC] (, field [ASC|DESC])*]     -- "ORDER BY" accepted too
        [STARTPOSITION n] [MAXRESULTS m]

    cond := field (= | < | > | <= | >= | !=) literal
          | field IN (literal, ...)
          | field LIKE 'text%'

Literals are single-quoted strings (QBO escapes a quote inside with a backslash: ``'Amy\\'s Bird'``),
numbers, and the bare words ``true``/``false``. ``OR`` is not supported by QBO either. Errors raise
:class:`QueryError` carrying the QBO fault code (4000 parse error, 4001 invalid query).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<str>'(?:\\.|[^'\\])*')
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punc>[(),*])
      | (?P<num>-?\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


class QueryError(Exception):
    """A query QBO would reject; ``code`` is the QBO error code (string)."""

    def __init__(self, message: str, detail: str, code: str) -> None:
        super().__init__(detail)
        self.message = message
        self.detail = detail
        self.code = code


def parse_error(detail: str) -> QueryError:
    """4000 Error parsing query."""
    return QueryError("Error parsing query", f"QueryParserError: {detail}", "4000")


def validation_error(detail: str) -> QueryError:
    """4001 Invalid query."""
    return QueryError("Invalid query", f"QueryValidationError: {detail}", "4001")


@dataclass(frozen=True)
class Condition:
    """``field op value``; for IN the value is a tuple."""

    field: str
    op: str
    value: Any


@dataclass
class Query:
    """A parsed query."""

    entity: str
    count: bool = False
    fields: tuple[str, ...] = ()
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int | None = None

    def cache_key(self) -> tuple[Any, ...]:
        """Identity of the result set regardless of paging (for the page cache)."""
        return (self.entity, tuple(self.conditions), tuple(self.order))


@dataclass
class _Tok:
    kind: str
    text: str


def tokenize(text: str) -> list[_Tok]:
    """Split query text into tokens; raises 4000 on an unexpected character."""
    tokens: list[_Tok] = []
    pos = 0
    stripped = text.rstrip().rstrip(";")
    while pos < len(stripped):
        if stripped[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(stripped, pos)
        if not m or m.end() == pos:
            raise parse_error(f'Encountered " "{stripped[pos : pos + 10]}"" at line 1, column {pos + 1}.')
        kind = m.lastgroup or ""
        tokens.append(_Tok(kind, m.group(kind)))
        pos = m.end()
    return tokens


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise parse_error('Encountered "<EOF>" at line 1.')
        self.i += 1
        return tok

    def kw(self, *words: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.upper() in words:
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.kw(word):
            tok = self.peek()
            found = tok.text if tok else "<EOF>"
            raise parse_error(f'Encountered " "{found}"" was expecting "{word}".')

    def expect_punc(self, ch: str) -> None:
        tok = self.next()
        if tok.text != ch:
            raise parse_error(f'Encountered " "{tok.text}"" was expecting "{ch}".')

    def literal(self) -> Any:
        tok = self.next()
        if tok.kind == "str":
            return _unquote(tok.text)
        if tok.kind == "num":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "word" and tok.text.lower() in ("true", "false"):
            return tok.text.lower() == "true"
        raise parse_error(f'Encountered " "{tok.text}"" expecting a literal.')

    def ident(self) -> str:
        tok = self.next()
        if tok.kind != "word":
            raise parse_error(f'Encountered " "{tok.text}"" expecting a property name.')
        return tok.text


def parse_query(text: str) -> Query:
    """Parse query text into a :class:`Query` (no knowledge of which fields exist)."""
    p = _Parser(tokenize(text))
    p.expect_kw("SELECT")
    count = False
    fields: list[str] = []
    tok = p.peek()
    if tok is not None and tok.text == "*":
        p.next()
    elif p.kw("COUNT"):
        p.expect_punc("(")
        p.expect_punc("*")
        p.expect_punc(")")
        count = True
    else:
        fields.append(p.ident())
        while (t := p.peek()) is not None and t.text == ",":
            p.next()
            fields.append(p.ident())
    p.expect_kw("FROM")
    query = Query(entity=p.ident(), count=count, fields=tuple(fields))
    if p.kw("WHERE"):
        query.conditions.append(_condition(p))
        while p.kw("AND"):
            query.conditions.append(_condition(p))
        if (t := p.peek()) is not None and t.kind == "word" and t.text.upper() == "OR":
            raise parse_error('Encountered " "OR "" at line 1. OR is not supported.')
    ordered = p.kw("ORDERBY")
    if not ordered and p.kw("ORDER"):
        p.expect_kw("BY")
        ordered = True
    if ordered:
        while True:
            name = p.ident()
            desc = False
            if p.kw("DESC"):
                desc = True
            else:
                p.kw("ASC")
            query.order.append((name, desc))
            if (t := p.peek()) is not None and t.text == ",":
                p.next()
                continue
            break
    while (t := p.peek()) is not None:
        if p.kw("STARTPOSITION"):
            query.start = _int_literal(p, "STARTPOSITION")
        elif p.kw("MAXRESULTS"):
            query.max_results = _int_literal(p, "MAXRESULTS")
        else:
            raise parse_error(f'Encountered " "{t.text}"" at line 1.')
    return query


def _int_literal(p: _Parser, what: str) -> int:
    tok = p.next()
    if tok.kind != "num" or "." in tok.text:
        raise parse_error(f'Encountered " "{tok.text}"" expecting an integer after {what}.')
    return int(tok.text)


def _condition(p: _Parser) -> Condition:
    name = p.ident()
    tok = p.next()
    if tok.kind == "op":
        op = "!=" if tok.text == "<>" else tok.text
        return Condition(name, op, p.literal())
    upper = tok.text.upper()
    if upper == "IN":
        p.expect_punc("(")
        values = [p.literal()]
        while (t := p.peek()) is not None and t.text == ",":
            p.next()
            values.append(p.literal())
        p.expect_punc(")")
        return Condition(name, "IN", tuple(values))
    if upper == "LIKE":
        value = p.literal()
        if not isinstance(value, str):
            raise parse_error("LIKE expects a quoted string.")
        return Condition(name, "LIKE", value)
    raise parse_error(f'Encountered " "{tok.text}"" expecting an operator.')


def like_to_regex(pattern: str) -> re.Pattern[str]:
    """``'Acme%'`` → case-insensitive regex; ``%`` is the only wildcard QBO documents."""
    parts = [re.escape(p) for p in pattern.split("%")]
    return re.compile("^" + ".*".join(parts) + "$", re.IGNORECASE | re.DOTALL)
