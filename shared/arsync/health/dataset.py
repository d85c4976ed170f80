"""Loader for the IBM Watson Analytics accounts-receivable sample (evaluation only, never shipped in the layer)."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from arsync.health.features import CustomerProfile, InvoiceFact


@dataclass(frozen=True, slots=True)
class LabelledInvoice:
    """One IBM row: the as-of inputs plus the outcome (``days_late``) that defines the label."""

    customer_id: str
    fact: InvoiceFact
    days_late: int

    @property
    def is_late(self) -> bool:
        """The primary target: settled after the due date."""
        return self.days_late > 0


@dataclass(frozen=True, slots=True)
class ReceivablesDataset:
    """Invoices grouped by customer, with each customer's profile."""

    invoices: list[LabelledInvoice]
    profiles: dict[str, CustomerProfile]

    def by_customer(self) -> dict[str, list[LabelledInvoice]]:
        grouped: dict[str, list[LabelledInvoice]] = defaultdict(list)
        for invoice in self.invoices:
            grouped[invoice.customer_id].append(invoice)
        for rows in grouped.values():
            rows.sort(key=lambda row: (row.fact.issue_date, row.fact.invoice_id))
        return dict(grouped)


def parse_us_date(text: str) -> date:
    """Parse the file's US ``m/d/yyyy`` dates."""
    month, day, year = text.strip().split("/")
    return date(int(year), int(month), int(day))


def load_ibm_receivables(path: str | Path) -> ReceivablesDataset:
    """Read the CSV (CRLF, US dates, zero-padded invoice numbers kept as strings)."""
    invoices: list[LabelledInvoice] = []
    profiles: dict[str, CustomerProfile] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            customer_id = row["customerID"].strip()
            settled = parse_us_date(row["SettledDate"]) if row["SettledDate"].strip() else None
            fact = InvoiceFact(
                invoice_id=row["invoiceNumber"].strip(),
                issue_date=parse_us_date(row["InvoiceDate"]),
                due_date=parse_us_date(row["DueDate"]),
                amount=float(row["InvoiceAmount"]),
                settled_date=settled,
                disputed=row["Disputed"].strip().lower() == "yes",
            )
            invoices.append(LabelledInvoice(customer_id=customer_id, fact=fact, days_late=int(row["DaysLate"])))
            profiles.setdefault(
                customer_id,
                CustomerProfile(
                    country=row["countryCode"].strip(), paperless_since=parse_us_date(row["PaperlessDate"])
                ),
            )
    return ReceivablesDataset(invoices=invoices, profiles=profiles)
