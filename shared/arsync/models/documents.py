"""DynamoDB item shape of imported AR documents (invoices, payments, credits) and their balance effect.

A document is stored whole as the provider's model (JSON `doc`) with a content hash, so an unchanged
re-import writes nothing, and indexed on GSI1 under its customer, so one customer's documents (balance
check, health features, balance recomputation) are one Query.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, Literal

from arsync.connectors.base import RemoteCredit, RemoteInvoice, RemotePayment
from arsync.store import keys

DocKind = Literal["invoice", "payment", "credit"]
RemoteDoc = RemoteInvoice | RemotePayment | RemoteCredit
Item = dict[str, dict[str, Any]]

_MODELS: dict[str, type[RemoteInvoice] | type[RemotePayment] | type[RemoteCredit]] = {
    "invoice": RemoteInvoice,
    "payment": RemotePayment,
    "credit": RemoteCredit,
}

CLOSED_INVOICE_STATUSES = frozenset({"voided", "deleted", "draft"})
"""Invoices that owe nothing to AR: void/deleted ones, and Xero drafts (not yet issued to the customer)."""


def doc_kind(doc: RemoteDoc) -> DocKind:
    if isinstance(doc, RemoteInvoice):
        return "invoice"
    if isinstance(doc, RemotePayment):
        return "payment"
    return "credit"


def doc_hash(doc: RemoteDoc) -> str:
    """Hash of the whole provider document: any provider change rewrites the item, nothing else does."""
    return hashlib.sha256(doc.model_dump_json().encode()).hexdigest()[:32]


def open_amount(doc: RemoteDoc) -> tuple[Decimal, Decimal]:
    """(total_due, unapplied_credit) this document contributes to its customer's balance (B8, B9)."""
    if doc.deleted:
        return Decimal(0), Decimal(0)
    if isinstance(doc, RemoteInvoice):
        if (doc.status or "").lower() in CLOSED_INVOICE_STATUSES:
            return Decimal(0), Decimal(0)
        return doc.amount_due, Decimal(0)
    if isinstance(doc, RemotePayment):
        return Decimal(0), doc.unapplied_amount
    return Decimal(0), doc.remaining_credit


def doc_to_item(tenant_id: str, system: str, doc: RemoteDoc) -> Item:
    kind = doc_kind(doc)
    item: Item = {
        "PK": {"S": keys.tenant_pk(tenant_id)},
        "SK": {"S": keys.doc_sk(kind, doc.id)},
        "type": {"S": "doc"},
        "kind": {"S": kind},
        "doc": {"S": doc.model_dump_json()},
        "content_hash": {"S": doc_hash(doc)},
    }
    if doc.customer_id:
        item["GSI1PK"] = {"S": keys.customer_docs_pk(tenant_id, system, doc.customer_id)}
        item["GSI1SK"] = {"S": keys.customer_docs_sk(kind, doc.id)}
    return item


def doc_from_item(item: Item) -> RemoteDoc:
    model = _MODELS[item["kind"]["S"]]
    return model.model_validate_json(item["doc"]["S"])
