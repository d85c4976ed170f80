"""`make demo`: a guided tour of arsync over HTTP through the local stack.

Every step is a real HTTP call to the local API gateway (Cognito emulated, moto server for DynamoDB,
SQS and Secrets Manager, QuickBooks Online and Xero emulators for the accounting systems), printed as what
happened and what came back. It exits non-zero if anything behaves other than described.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import warnings
from decimal import Decimal
from typing import Any

import requests

from local.auth import issue_token
from local.stack import LocalStack


class DemoFailure(AssertionError):
    pass


class Tour:
    steps = 0  # numbered across every account of the tour

    def __init__(self, stack: LocalStack, tenant: str) -> None:
        self.stack = stack
        self.base_url = stack.api_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {issue_token(tenant, 'controller@northwind.example')}"

    def say(self, title: str) -> None:
        Tour.steps += 1
        print(f"\n{Tour.steps}. {title}")

    @staticmethod
    def show(text: str) -> None:
        print(textwrap.indent(textwrap.fill(text, 110, subsequent_indent="  "), "   "))

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base_url + path, timeout=120, **kwargs)
        print(f"   {method} {path} -> {response.status_code}")
        if response.status_code != expect:
            raise DemoFailure(f"expected {expect}, got {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def problem(self, body: dict[str, Any]) -> None:
        error = body.get("accounting_error") or {}
        if error.get("code") == "prepush":
            self.show(f'caught before sending it: "{error["message"]}"')
        elif error:
            self.show(f'{error["system"]} said, verbatim: "{error["message"]}"')
        self.show(f"we explain: {body['detail']}")
        self.show(f"what to do: {body['resolution']}")

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise DemoFailure(message)

    def connect(self, system: str) -> None:
        start = self.call("POST", f"/connection/{system}/authorize", 200)
        consent = requests.get(start["authorization_url"], allow_redirects=False, timeout=30)
        self.check(consent.status_code == 302, "the provider should redirect back with a code")
        self.show("the provider asked for consent and redirected back with a code and the signed state")
        done = requests.get(consent.headers["Location"], timeout=120)
        self.check(done.status_code == 200, f"callback failed: {done.text}")
        self.show(f"connected: {done.json()}")

    def sync(self) -> dict[str, Any]:
        run = self.call("POST", "/sync", 202)
        assert self.stack.scheduler is not None
        self.stack.scheduler.drain()  # the SQS poller delivers the message to the sync worker, as Lambda would
        finished: dict[str, Any] = self.call("GET", f"/sync/runs/{run['id']}", 200)
        counts = finished["counts_by_entity"]
        self.check(finished["status"] == "succeeded", f"sync did not succeed: {finished}")
        self.show(
            f"{finished['mode']} sync {finished['status']}: customers {counts['customers']}, invoices created "
            f"{counts['invoices']['created']}, payments {counts['payments']['created']}, credits "
            f"{counts['credits']['created']}"
        )
        return finished

    def customers(self, **params: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"limit": "100", **params, **({"cursor": cursor} if cursor else {})}
            page = self.session.get(self.base_url + "/customers", params=query, timeout=60).json()
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items


def local_only_tour(tour: Tour) -> None:
    tour.say("An account with no accounting system: create three customers")
    ids = {}
    for name in ("Northwind Traders", "Contoso Pharma", "Fabrikam Tools"):
        body = tour.call("POST", "/customers", 201, json={"display_name": name})
        ids[name] = body["id"]
    tour.show(", ".join(f"{n} ({i})" for n, i in ids.items()) + " - sync state: local_only")

    tour.say("Edit Contoso with the version we read (1), then again with that now-stale version")
    edited = tour.call(
        "PATCH", f"/customers/{ids['Contoso Pharma']}", 200, json={"version": 1, "email": "ap@contoso.example"}
    )
    tour.show(f"email is now {edited['email']}, version {edited['version']}")
    stale = tour.call(
        "PATCH", f"/customers/{ids['Contoso Pharma']}", 409, json={"version": 1, "email": "x@contoso.example"}
    )
    tour.show(f"refused: {stale['detail']}")

    tour.say("Archive Fabrikam; lists hide archived customers unless asked")
    tour.call("POST", f"/customers/{ids['Fabrikam Tools']}/archive", 200)
    for flag in ("no", "yes", "all"):
        tour.show(f"archived={flag}: " + ", ".join(c["display_name"] for c in tour.customers(archived=flag)))

    tour.say("Bad input is refused with a problem document that names the field; nothing is stored")
    bad = tour.call("POST", "/customers", 422, json={"display_name": "", "tenant_id": "someone-else"})
    tour.show("; ".join(f"{e['field']}: {e['message']}" for e in bad["errors"]))


def quickbooks_tour(tour: Tour) -> None:
    tour.say("Connect QuickBooks Online by OAuth 2.0 (the sandbox company has 200 customers and two years of history)")
    tour.connect("quickbooks_online")

    tour.say("Sync now: a full import, paged at the provider's maximum, only changed items written")
    tour.sync()
    imported = tour.customers()
    tour.show(
        f"{len(imported)} active customers listed; e.g. {imported[0]['display_name']}: balance "
        f"{imported[0]['balance']['outstanding']}, Total Due {imported[0]['balance']['total_due']}"
    )

    tour.say("FAQ: 'I am missing a customer' - Acme Supplies is inactive in QuickBooks, so it is not imported")
    tour.check(tour.customers(q="Acme Supplies") == [], "inactive customers are out of scope by default")
    tour.show("not found; turning on import_inactive_customers re-reads everything")
    tour.call("PATCH", "/settings", 200, json={"import_inactive_customers": True})
    assert tour.stack.scheduler is not None
    tour.stack.scheduler.drain()
    found = tour.customers(q="Acme Supplies")
    tour.check(len(found) == 1 and not found[0]["external"]["active"], "the inactive customer should now be listed")
    tour.show(f"found: {found[0]['display_name']} (inactive in QuickBooks Online)")

    tour.say("FAQ: creating a customer whose name an inactive QuickBooks customer holds")
    clash = tour.call("POST", "/customers", 409, json={"display_name": "Acme Supplies", "email": "new@acme.example"})
    tour.problem(clash)
    tour.show("choices offered: " + ", ".join(c["action"] for c in clash["choices"]))
    reactivate = next(c for c in clash["choices"] if c["action"] == "reactivate")
    linked = tour.call(reactivate["method"], reactivate["path"], 200, json=reactivate["body"])
    tour.show(
        f"reactivated and linked: {linked['display_name']} -> QuickBooks id {linked['external']['id']}, "
        f"sync state {linked['sync']['state']}"
    )

    tour.say("FAQ: 'Duplicate Name Exists Error' for an active customer")
    name = imported[1]["display_name"]
    duplicate = tour.call("POST", "/customers", 409, json={"display_name": name})
    tour.problem(duplicate)
    tour.show(f"the customer was kept with sync state '{duplicate['customer']['sync']['state']}' and can be renamed")

    tour.say("A value too long for QuickBooks Online is caught before the round trip, naming the field")
    long_zip = tour.call(
        "POST", "/customers", 422, json={"display_name": "Long Zip Co", "billing_address": {"postal_code": "9" * 31}}
    )
    tour.problem(long_zip)

    tour.say("FAQ: 'Why can't I edit my customers?' - contact data is read-only while connected")
    target = imported[2]
    locked = tour.call(
        "PATCH", f"/customers/{target['id']}", 409, json={"version": target["version"], "email": "ap@new.example"}
    )
    tour.show(locked["detail"])
    tour.call("PATCH", "/settings", 200, json={"allow_customer_edits": True})
    edited = tour.call(
        "PATCH", f"/customers/{target['id']}", 200, json={"version": target["version"], "email": "ap@new.example"}
    )
    tour.show(f"with allow_customer_edits on, the edit was pushed: sync state {edited['sync']['state']}")

    tour.say("FAQ: 'Total Due is higher than the balance' - the balance check explains it item by item")
    differing = next(
        c
        for c in tour.customers()
        if c["balance"] and Decimal(c["balance"]["total_due"]) > Decimal(c["balance"]["outstanding"])
    )
    check = tour.call("GET", f"/customers/{differing['id']}/balance-check", 200)
    for item in check["items"]:
        tour.show(f"- {item['kind']} {item['number'] or item['id']} of {item['date']}: {item['amount']}")
    tour.show(check["summary"])

    tour.say("FAQ: 'The balance is wrong' - Re-Sync reads it from QuickBooks Online again")
    stale_customer = [c for c in tour.customers() if c["balance"]][3]
    emulator = tour.stack.emulator("quickbooks_online")
    company = tour.stack.sandbox["quickbooks_online"]
    requests.post(
        f"{emulator.base_url}/_admin/companies/{company}/invoices",
        timeout=30,
        json={"CustomerRef": {"value": stale_customer["external"]["id"]}, "TotalAmt": "125.00", "Balance": "125.00"},
    ).raise_for_status()
    tour.show(
        f"a new 125.00 invoice was entered in QuickBooks; AR still shows {stale_customer['balance']['outstanding']}"
    )
    resynced = tour.call("POST", f"/customers/{stale_customer['id']}/resync", 200)
    tour.show(f"after Re-Sync: {resynced['balance']['outstanding']}")
    expected = Decimal(stale_customer["balance"]["outstanding"]) + Decimal("125.00")
    tour.check(Decimal(resynced["balance"]["outstanding"]) == expected, "Re-Sync should fix the balance")

    tour.say("Customer health: scored from payment history after each sync, and nightly")
    scored = [c for c in tour.customers() if c["health"]["score"] is not None]
    tour.check(bool(scored), "customers should have health scores after the sync")
    for customer in sorted(scored, key=lambda c: c["health"]["score"])[:3]:
        health = customer["health"]
        factors = "; ".join(f"{f['label']} ({f['direction']})" for f in health["factors"][:2])
        tour.show(f"{customer['display_name']}: {health['score']} ({health['band']}) - {factors}")
    worst = min(scored, key=lambda c: c["health"]["score"])
    overridden = tour.call(
        "PUT",
        f"/customers/{worst['id']}/health",
        200,
        json={"score": 85, "reason": "Paid in full after a dispute was settled"},
    )
    tour.show(
        f"override: shown score {overridden['health']['score']} ({overridden['health']['source']}), "
        f"model score {overridden['health']['model_score']} kept beside it"
    )

    tour.say("FAQ: 'Authentication Failed, status code 401' - the connection was revoked in QuickBooks")
    requests.post(
        f"{emulator.base_url}/_admin/tokens/revoke", json={"company_id": company}, timeout=30
    ).raise_for_status()
    failed = tour.call("POST", "/customers", 409, json={"display_name": "After Revoke Ltd"})
    tour.problem(failed)
    tour.show(f"connection status: {tour.call('GET', '/connection', 200)['status']}")


def xero_tour(stack: LocalStack) -> None:
    tour = Tour(stack, "demo-xero-account")
    tour.say("A second account connects Xero")
    tour.connect("xero")
    tour.say("FAQ: 'The contact name is not valid. < > are not permitted characters.'")
    refused = tour.call("POST", "/customers", 422, json={"display_name": "Fish <and> Chips"})
    tour.problem(refused)
    tour.say("FAQ: a Xero contact name already used by an active contact")
    tour.call("POST", "/customers", 201, json={"display_name": "Harbour Lights Ltd"})
    duplicate = tour.call("POST", "/customers", 409, json={"display_name": "Harbour Lights Ltd"})
    tour.problem(duplicate)


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    print("arsync demo - local stack: moto server, QuickBooks Online and Xero emulators, local API gateway")
    with LocalStack(gateway_port=0, extra_environment=quiet) as stack:
        try:
            local_only_tour(Tour(stack, "demo-local-only"))
            quickbooks_tour(Tour(stack, "demo-northwind"))
            xero_tour(stack)
        except DemoFailure as failure:
            print(f"\nDEMO FAILED: {failure}")
            return 1
    print("\nDemo finished: every step behaved as described.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
