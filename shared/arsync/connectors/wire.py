"""Small readers of provider JSON values shared by the adapters (both send amounts as numbers or strings
and omit or blank optional text)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from arsync.models.customer import Address


def amount(value: Any) -> Decimal:
    """A money amount; absent or blank is zero. A malformed amount is not silently zeroed: it raises."""
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a money amount: {value!r}") from exc


def text(value: Any) -> str | None:
    """Provider text, with absent and empty both meaning 'not set'."""
    if value is None:
        return None
    rendered = str(value)
    return rendered if rendered != "" else None


def address(raw: Any, names: dict[str, str]) -> Address | None:
    """An address from a provider object, `names` mapping our fields to the provider's; None when empty."""
    if not isinstance(raw, dict):
        return None
    read = Address(**{ours: text(raw.get(theirs)) for ours, theirs in names.items()})
    return read if any(read.model_dump().values()) else None
