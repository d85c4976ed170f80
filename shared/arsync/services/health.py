"""Customer health (B10, B11): score from payment history and profile, user overrides that survive
re-scoring, and (re-)scoring whole accounts or the customers a sync changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from arsync.clock import Clock, utc_now
from arsync.connectors.base import RemoteInvoice, RemotePayment
from arsync.errors import VersionConflict
from arsync.health import CustomerProfile, InvoiceFact, assess_customer
from arsync.health.scoring import HealthAssessment, band_for
from arsync.models.common import HealthBand
from arsync.models.customer import Customer, Health, HealthFactor, HealthOverride
from arsync.models.documents import RemoteDoc
from arsync.store.base import CustomerRepository


class AccountDocuments(Protocol):
    def by_customer(self, tenant_id: str) -> dict[str, list[RemoteDoc]]: ...

    def for_customer(self, tenant_id: str, system: str, external_customer_id: str) -> list[RemoteDoc]: ...


def invoice_facts(docs: Iterable[RemoteDoc]) -> list[InvoiceFact]:
    """The ledger the model reads: each issued invoice with the date it was settled, if it was.

    Xero gives FullyPaidOnDate; for QBO the settlement date is the last payment applied to a zero-balance
    invoice. Voided, deleted and draft invoices are not part of the payment history."""
    docs = list(docs)
    last_payment: dict[str, date] = {}
    for doc in docs:
        if isinstance(doc, RemotePayment) and not doc.deleted and doc.date:
            for application in doc.applications:
                previous = last_payment.get(application.invoice_id)
                if previous is None or doc.date > previous:
                    last_payment[application.invoice_id] = doc.date
    facts = []
    for doc in docs:
        if not isinstance(doc, RemoteInvoice) or doc.deleted or not doc.issue_date:
            continue
        if (doc.status or "").lower() in ("draft", "voided", "deleted"):
            continue
        settled = doc.fully_paid_on
        if settled is None and doc.amount_due == 0 and doc.total > 0:
            settled = last_payment.get(doc.id) or (doc.updated_at.date() if doc.updated_at else None)
        facts.append(
            InvoiceFact(
                invoice_id=doc.id,
                issue_date=doc.issue_date,
                due_date=doc.due_date or doc.issue_date,
                amount=float(doc.total),
                settled_date=settled,
            )
        )
    return facts


def profile_of(customer: Customer) -> CustomerProfile:
    return CustomerProfile(
        company_type=customer.company_type.value if customer.company_type else None,
        country=customer.country
        or (customer.contact.billing_address.country if customer.contact.billing_address else None),
        industry=customer.industry,
        size=customer.size.value if customer.size else None,
    )


def health_from(assessment: HealthAssessment, override: HealthOverride | None) -> Health:
    return Health(
        model_score=assessment.score,
        model_band=HealthBand(assessment.band),
        probability_late=round(assessment.probability_late, 4),
        factors=tuple(
            HealthFactor(name=f.name, label=f.label, value=f.value, direction=f.direction, impact=f.impact)
            for f in assessment.factors
        ),
        model_version=assessment.model_version,
        basis="prior" if assessment.source == "prior" else "history",
        computed_at=assessment.computed_at,
        override=override,
    )


def _model_part(health: Health) -> tuple[object, ...]:
    """What change detection compares: not computed_at, so an unchanged score is not rewritten nightly."""
    return (
        health.model_score,
        health.model_band,
        health.probability_late,
        health.factors,
        health.model_version,
        health.basis,
    )


@dataclass(frozen=True)
class ScoringResult:
    scored: int
    changed: int


@dataclass
class HealthService:
    customers: CustomerRepository
    documents: AccountDocuments
    clock: Clock = utc_now

    def set_override(self, tenant_id: str, customer_id: str, score: int, reason: str, user: str) -> Customer:
        """The user's score stands until cleared; the model keeps computing beside it (B11)."""
        override = HealthOverride(
            score=score, band=HealthBand(band_for(score)), reason=reason, set_by=user, set_at=self.clock()
        )
        return self._update_health(
            tenant_id, customer_id, lambda health: health.model_copy(update={"override": override})
        )

    def clear_override(self, tenant_id: str, customer_id: str) -> Customer:
        return self._update_health(tenant_id, customer_id, lambda health: health.model_copy(update={"override": None}))

    def _update_health(self, tenant_id: str, customer_id: str, change: Callable[[Health], Health]) -> Customer:
        for _ in range(3):
            current = self.customers.get(tenant_id, customer_id)
            updated = current.model_copy(
                update={"health": change(current.health), "version": current.version + 1, "updated_at": self.clock()}
            )
            try:
                self.customers.save(updated, expected_version=current.version)
                return updated
            except VersionConflict:
                continue
        raise VersionConflict(customer_id, current.version, None)

    def score_account(self, tenant_id: str, customer_ids: set[str] | None = None) -> ScoringResult:
        """Score every customer of the account (nightly, after a sync), or just `customer_ids`.

        Only changed scores are written, in batches; a customer edited meanwhile is re-read and re-merged,
        and an override set while we scored is kept (B11)."""
        docs = self.documents.by_customer(tenant_id)
        now = self.clock()
        scored = 0
        pending: list[tuple[Customer, int]] = []
        for customer in self.customers.iter_all(tenant_id):
            if customer_ids is not None and customer.id not in customer_ids:
                continue
            history = docs.get(customer.external.id, []) if customer.external else []
            assessment = assess_customer(invoice_facts(history), profile_of(customer), computed_at=now)
            scored += 1
            health = health_from(assessment, customer.health.override)
            if _model_part(customer.health) != _model_part(health):
                pending.append(
                    (customer.model_copy(update={"health": health, "version": customer.version + 1}), customer.version)
                )
        lost = self.customers.save_many(pending)
        changed = len(pending) - len(lost)
        for customer in lost:
            fresh = self.customers.get(tenant_id, customer.id)
            if self._save_health(fresh, customer.health):
                changed += 1
        return ScoringResult(scored=scored, changed=changed)

    def score_accounts(self, tenant_ids: Iterable[str]) -> ScoringResult:
        """The nightly run over every connected account; one account's failure does not stop the others."""
        scored = changed = 0
        for tenant_id in tenant_ids:
            result = self.score_account(tenant_id)
            scored, changed = scored + result.scored, changed + result.changed
        return ScoringResult(scored=scored, changed=changed)

    def _save_health(self, customer: Customer, health: Health) -> bool:
        for _ in range(3):
            if _model_part(customer.health) == _model_part(health):
                return False
            # The override is whatever stands now: never remove one set while we were scoring.
            updated = customer.model_copy(
                update={
                    "health": health.model_copy(update={"override": customer.health.override}),
                    "version": customer.version + 1,
                }
            )
            try:
                self.customers.save(updated, expected_version=customer.version)
                return True
            except VersionConflict:
                customer = self.customers.get(customer.tenant_id, customer.id)
        return False
