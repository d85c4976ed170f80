"""As-of customer features: the one feature code used by offline training, the benchmark and Lambda scoring.

Everything here is computed from what was knowable at ``as_of``: invoices issued before ``as_of``, settlements
dated before ``as_of`` and the customer's profile. :func:`as_of_view` masks the rest, so callers may pass a full
ledger (including future invoices and future settlements) without leaking it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from arsync.health.paydex import PAYDEX_WINDOW_DAYS, amount_weighted_days_beyond_terms, paydex_from_days_beyond_terms

RECENT_INVOICE_COUNT = 3


@dataclass(frozen=True, slots=True)
class InvoiceFact:
    """One invoice as the health score sees it. ``disputed`` is None when the ledger does not record disputes."""

    invoice_id: str
    issue_date: date
    due_date: date
    amount: float
    settled_date: date | None = None
    disputed: bool | None = None


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """AR-side attributes of a customer; every field is optional because most ledgers lack them."""

    company_type: str | None = None
    country: str | None = None
    industry: str | None = None
    size: str | None = None
    paperless_since: date | None = None


@dataclass(frozen=True, slots=True)
class FeatureSnapshot:
    """Features of one customer at one instant. ``values`` maps feature name to value (None = unknown)."""

    as_of: date
    closed_count: int
    open_count: int
    values: dict[str, float | None]
    profile: CustomerProfile

    @property
    def has_history(self) -> bool:
        """Payment-history features exist only once at least one invoice has been settled."""
        return self.closed_count > 0


# name -> human label. The order is the canonical feature order used by the parameter file.
FEATURE_LABELS: dict[str, str] = {
    "paydex": "PAYDEX-style score (amount-weighted days beyond terms)",
    "weighted_days_beyond_terms": "Amount-weighted days beyond terms",
    "late_share": "Share of invoices paid late",
    "late_amount_share": "Share of invoiced amount paid late",
    "average_days_late": "Average days late",
    "max_days_late": "Longest delay (days late)",
    "recent_late_share": "Share of the last 3 invoices paid late",
    "recent_days_late": "Average days late, last 3 invoices",
    "lateness_trend": "Trend: recent minus overall days beyond terms",
    "last_invoice_late": "Last invoice paid late",
    "closed_count_log": "Payment history length (log invoices)",
    "open_count": "Open invoices",
    "open_amount_ratio": "Open amount (in average invoices)",
    "overdue_count": "Overdue invoices",
    "overdue_amount_ratio": "Overdue amount (in average invoices)",
    "max_days_overdue": "Oldest overdue invoice (days past due)",
    "dispute_share": "Share of settled invoices disputed",
    "electronic_billing": "Receives invoices electronically",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_LABELS)


def as_of_view(invoices: Iterable[InvoiceFact], as_of: date) -> list[InvoiceFact]:
    """What the ledger looked like at ``as_of``: later invoices dropped, later settlements and disputes hidden.

    Disputes of invoices still open are hidden too: the data cannot tell when a dispute was raised, so only the
    dispute outcome of settled invoices is treated as known.
    """
    visible: list[InvoiceFact] = []
    for invoice in invoices:
        if invoice.issue_date >= as_of:
            continue
        if invoice.settled_date is not None and invoice.settled_date < as_of:
            visible.append(invoice)
        elif invoice.settled_date is not None or invoice.disputed is not None:
            visible.append(replace(invoice, settled_date=None, disputed=None))
        else:
            visible.append(invoice)
    return visible


def compute_features(invoices: Iterable[InvoiceFact], profile: CustomerProfile, as_of: date) -> FeatureSnapshot:
    """Compute the as-of features of a customer from its invoices (any superset of its history is safe)."""
    visible = as_of_view(invoices, as_of)
    settled_pairs: list[tuple[InvoiceFact, date]] = sorted(
        ((inv, inv.settled_date) for inv in visible if inv.settled_date is not None),
        key=lambda pair: (pair[0].issue_date, pair[0].invoice_id),
    )
    closed = [inv for inv, _ in settled_pairs]
    open_items = [inv for inv in visible if inv.settled_date is None]
    values: dict[str, float | None] = dict.fromkeys(FEATURE_NAMES)

    all_amounts = [abs(inv.amount) for inv in visible]
    mean_amount = sum(all_amounts) / len(all_amounts) if all_amounts else 0.0

    if closed:
        beyond_terms = [_days_between(inv.due_date, settled) for inv, settled in settled_pairs]
        days_late = [max(0, days) for days in beyond_terms]
        amounts = [abs(inv.amount) for inv in closed]
        window_start = as_of.toordinal() - PAYDEX_WINDOW_DAYS
        in_window = [
            (float(days), amount)
            for (_, settled), days, amount in zip(settled_pairs, beyond_terms, amounts, strict=True)
            if settled.toordinal() >= window_start
        ]
        weighted_dbt = amount_weighted_days_beyond_terms(in_window)
        if weighted_dbt is None:
            weighted_dbt = amount_weighted_days_beyond_terms(zip(map(float, beyond_terms), amounts, strict=True))
        total_amount = sum(amounts)
        late_amount = sum(amount for amount, days in zip(amounts, days_late, strict=True) if days > 0)
        recent_beyond = beyond_terms[-RECENT_INVOICE_COUNT:]
        recent_late = days_late[-RECENT_INVOICE_COUNT:]
        known_disputes = [inv.disputed for inv in closed if inv.disputed is not None]

        values["weighted_days_beyond_terms"] = weighted_dbt
        values["paydex"] = paydex_from_days_beyond_terms(weighted_dbt) if weighted_dbt is not None else None
        values["late_share"] = sum(1 for days in days_late if days > 0) / len(closed)
        values["late_amount_share"] = late_amount / total_amount if total_amount > 0 else None
        values["average_days_late"] = sum(days_late) / len(closed)
        values["max_days_late"] = float(max(days_late))
        values["recent_late_share"] = sum(1 for days in recent_late if days > 0) / len(recent_late)
        values["recent_days_late"] = sum(recent_late) / len(recent_late)
        if weighted_dbt is not None:
            values["lateness_trend"] = sum(recent_beyond) / len(recent_beyond) - weighted_dbt
        values["last_invoice_late"] = 1.0 if days_late[-1] > 0 else 0.0
        values["closed_count_log"] = math.log1p(len(closed))
        values["dispute_share"] = sum(known_disputes) / len(known_disputes) if known_disputes else None

    overdue = [inv for inv in open_items if inv.due_date < as_of]
    values["open_count"] = float(len(open_items))
    values["overdue_count"] = float(len(overdue))
    values["max_days_overdue"] = float(max((_days_between(inv.due_date, as_of) for inv in overdue), default=0))
    if mean_amount > 0:
        values["open_amount_ratio"] = sum(abs(inv.amount) for inv in open_items) / mean_amount
        values["overdue_amount_ratio"] = sum(abs(inv.amount) for inv in overdue) / mean_amount
    else:
        values["open_amount_ratio"] = 0.0
        values["overdue_amount_ratio"] = 0.0
    if profile.paperless_since is not None:
        values["electronic_billing"] = 1.0 if as_of > profile.paperless_since else 0.0

    return FeatureSnapshot(
        as_of=as_of, closed_count=len(closed), open_count=len(open_items), values=values, profile=profile
    )


def feature_vector(snapshot: FeatureSnapshot, names: Sequence[str]) -> list[float | None]:
    """Values in the order a parameter file lists them."""
    values = snapshot.values
    return [values.get(name) for name in names]


def _days_between(start: date, end: date) -> int:
    return end.toordinal() - start.toordinal()
