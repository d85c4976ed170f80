"""`make demo`: a guided tour of arsync over HTTP through the local stack.

Every step is a real HTTP call to the local API gateway (Cognito emulated, moto server for DynamoDB),
printed as what happened and what came back. Exits non-zero if anything behaves unexpectedly.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import warnings
from typing import Any

import requests

from local.auth import issue_token
from local.stack import LocalStack


class DemoFailure(AssertionError):
    pass


class Tour:
    def __init__(self, base_url: str, tenant: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {issue_token(tenant, 'controller@northwind.example')}"
        self.step = 0

    def say(self, title: str) -> None:
        self.step += 1
        print(f"\n{self.step}. {title}")

    @staticmethod
    def show(text: str) -> None:
        print(textwrap.indent(text, "   "))

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base_url + path, timeout=30, **kwargs)
        self.show(f"{method} {path} -> {response.status_code}")
        if response.status_code != expect:
            raise DemoFailure(f"expected {expect}, got {response.status_code}: {response.text}")
        return response.json() if response.content else None


def local_only_tour(tour: Tour) -> None:
    tour.say("Create three customers in an account with no accounting system connected")
    ids = {}
    for name, email in [
        ("Northwind Traders", "ap@northwind.example"),
        ("Contoso Pharma", None),
        ("Fabrikam Tools", "billing@fabrikam.example"),
    ]:
        body = tour.call("POST", "/customers", 201, json={"display_name": name, **({"email": email} if email else {})})
        ids[name] = body["id"]
        tour.show(
            f"  created {name!r} as {body['id']} (sync state: {body['sync']['state']}, version {body['version']})"
        )

    tour.say("List them (sorted by name, archived ones hidden by default)")
    listed = tour.call("GET", "/customers", 200)
    tour.show("  " + ", ".join(c["display_name"] for c in listed["items"]))

    tour.say("Edit Contoso with the version we read (1), then try again with that now-stale version")
    edited = tour.call(
        "PATCH", f"/customers/{ids['Contoso Pharma']}", 200, json={"version": 1, "email": "ap@contoso.example"}
    )
    tour.show(f"  email is now {edited['email']}, version {edited['version']}")
    stale = tour.call(
        "PATCH", f"/customers/{ids['Contoso Pharma']}", 409, json={"version": 1, "email": "old@contoso.example"}
    )
    tour.show(f"  refused: {stale['code']} - {stale['detail']}")

    tour.say("Archive Fabrikam, then filter by the archive flag")
    tour.call("POST", f"/customers/{ids['Fabrikam Tools']}/archive", 200)
    for flag in ("no", "yes", "all"):
        names = [c["display_name"] for c in tour.call("GET", f"/customers?archived={flag}", 200)["items"]]
        tour.show(f"  archived={flag}: {', '.join(names)}")

    tour.say("Send bad input: it is refused with a problem document naming the field, and nothing is stored")
    bad = tour.call("POST", "/customers", 422, json={"display_name": "", "tenant_id": "someone-else"})
    tour.show("  " + "; ".join(f"{e['field']}: {e['message']}" for e in bad["errors"]))


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    print("arsync demo: everything below runs against the local stack (moto server + local API gateway)")
    quiet = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR"}
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with LocalStack(gateway_port=0, extra_environment=quiet) as stack:
        tour = Tour(stack.api_url, "demo-northwind")
        try:
            local_only_tour(tour)
        except DemoFailure as failure:
            print(f"\nDEMO FAILED: {failure}")
            return 1
    print("\nDemo finished: every step behaved as described.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
