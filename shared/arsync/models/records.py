"""DynamoDB item shapes and their explicit mapping to and from the domain models.

Items are written with the low-level client, so attribute values are typed (`{"S": ...}`). The domain
object travels as one JSON document attribute (`doc`); the attributes that keys, filters and change
detection need are lifted next to it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from arsync.models.account import AccountSettings, Connection
from arsync.models.customer import Customer
from arsync.store import keys

Item = dict[str, dict[str, Any]]


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def content_hash(customer: Customer) -> str:
    """Hash of what the accounting system owns, so an unchanged import writes nothing."""
    payload = {
        "contact": customer.contact.model_dump(mode="json"),
        "external": customer.external.model_dump(mode="json", exclude={"updated_at"}) if customer.external else None,
        "balance": customer.balance.model_dump(mode="json", exclude={"as_of"}) if customer.balance else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def customer_to_item(customer: Customer) -> Item:
    tenant, name = customer.tenant_id, customer.contact.display_name
    item: Item = {
        "PK": _s(keys.tenant_pk(tenant)),
        "SK": _s(keys.customer_sk(customer.id)),
        "type": _s("customer"),
        "GSI1PK": _s(keys.customers_by_name_pk(tenant)),
        "GSI1SK": _s(keys.customer_name_sk(name, customer.id)),
        "GSI2PK": _s(keys.customers_by_archived_pk(tenant, customer.archived)),
        "GSI2SK": _s(keys.customer_name_sk(name, customer.id)),
        "doc": _s(customer.model_dump_json(exclude={"tenant_id", "version"})),
        "version": _n(customer.version),
        "archived": {"BOOL": customer.archived},
        "sync_state": _s(customer.sync.state.value),
        "content_hash": _s(content_hash(customer)),
        "updated_at": _s(customer.updated_at.isoformat()),
    }
    if customer.health.band is not None:
        item["health_band"] = _s(customer.health.band.value)
    if customer.external is not None and not customer.external.active:
        item["remote_inactive"] = {"BOOL": True}
    if customer.external is not None:
        item["GSI3PK"] = _s(keys.external_pk(tenant, customer.external.system.value))
        item["GSI3SK"] = _s(customer.external.id)
    return item


def customer_from_item(tenant_id: str, item: Item) -> Customer:
    doc = json.loads(item["doc"]["S"])
    doc["tenant_id"] = tenant_id
    doc["version"] = int(item["version"]["N"])
    return Customer.model_validate(doc)


def settings_to_item(tenant_id: str, settings: AccountSettings) -> Item:
    return {
        "PK": _s(keys.tenant_pk(tenant_id)),
        "SK": _s(keys.settings_sk()),
        "type": _s("settings"),
        "doc": _s(settings.model_dump_json(exclude={"version"})),
        "version": _n(settings.version),
    }


def settings_from_item(item: Item) -> AccountSettings:
    doc = json.loads(item["doc"]["S"])
    doc["version"] = int(item["version"]["N"])
    return AccountSettings.model_validate(doc)


def connection_to_item(tenant_id: str, connection: Connection) -> Item:
    item: Item = {
        "PK": _s(keys.tenant_pk(tenant_id)),
        "SK": _s(keys.connection_sk()),
        "type": _s("connection"),
        "doc": _s(connection.model_dump_json(exclude={"version"})),
        "version": _n(connection.version),
        "tenant_id": _s(tenant_id),
        "system": _s(connection.system.value),
    }
    if connection.status == "connected":
        item["GSI4PK"] = _s(keys.dispatch_pk(tenant_id))
        item["GSI4SK"] = _s(tenant_id)
    return item


def connection_from_item(item: Item) -> Connection:
    doc = json.loads(item["doc"]["S"])
    doc["version"] = int(item["version"]["N"])
    return Connection.model_validate(doc)
