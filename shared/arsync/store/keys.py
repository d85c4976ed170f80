"""Every partition/sort key and index key of the single table, built in one place.

Item types (PK / SK), documented again next to the table in template.yaml:
  customer        TENANT#{t} / CUSTOMER#{id}
                  GSI1: TENANT#{t}#CUSTOMERS / {name_key}#{id}            (all customers by name)
                  GSI2: TENANT#{t}#CUSTOMERS#ARCHIVED#{0|1} / {name_key}#{id}  (archive filter by name)
                  GSI3: TENANT#{t}#EXT#{system} / {external_id}           (sparse: linked customers)
  settings        TENANT#{t} / SETTINGS
  connection      TENANT#{t} / CONNECTION       GSI4: CONNECTED#{shard} / {t} (sparse; dispatcher fan-out)
  idempotency     TENANT#{t}#IDEMPOTENCY / {powertools key}   (TTL attribute `expiration`)

Every base-table partition key and every GSI1-3 partition key starts with the tenant, so a query can only
reach one tenant's items. The only partition without a tenant is the sparse dispatcher index GSI4, which
projects nothing but the tenant id and system of connected accounts.
"""

from __future__ import annotations

import hashlib
import unicodedata

CUSTOMER_PREFIX = "CUSTOMER#"
DISPATCH_SHARDS = 4


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def customer_sk(customer_id: str) -> str:
    return f"{CUSTOMER_PREFIX}{customer_id}"


def customer_id_from_sk(sort_key: str) -> str:
    return sort_key.removeprefix(CUSTOMER_PREFIX)


def name_key(display_name: str) -> str:
    """Case- and accent-insensitive sort/search key, so `q` prefix search matches what users expect."""
    folded = unicodedata.normalize("NFKD", display_name).casefold()
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def customers_by_name_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#CUSTOMERS"


def customers_by_archived_pk(tenant_id: str, archived: bool) -> str:
    return f"TENANT#{tenant_id}#CUSTOMERS#ARCHIVED#{int(archived)}"


def customer_name_sk(display_name: str, customer_id: str) -> str:
    return f"{name_key(display_name)}#{customer_id}"


def external_pk(tenant_id: str, system: str) -> str:
    return f"TENANT#{tenant_id}#EXT#{system}"


def settings_sk() -> str:
    return "SETTINGS"


def connection_sk() -> str:
    return "CONNECTION"


def dispatch_pk(tenant_id: str) -> str:
    shard = int(hashlib.sha256(tenant_id.encode()).hexdigest(), 16) % DISPATCH_SHARDS
    return f"CONNECTED#{shard}"


def all_dispatch_pks() -> list[str]:
    return [f"CONNECTED#{shard}" for shard in range(DISPATCH_SHARDS)]


def idempotency_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#IDEMPOTENCY"


# --- connection, OAuth and webhooks ------------------------------------------------------------------------------


def oauth_state_sk(nonce: str) -> str:
    return f"OAUTHSTATE#{nonce}"


def token_lock_sk() -> str:
    return "CONNECTION#TOKENLOCK"


def provider_company_pk(system: str, company_id: str) -> str:
    """Webhooks name the provider company (QBO realmId, Xero tenantId), never our tenant: this item maps it back.

    Like GSI4 it is a partition without a tenant; it holds only the tenant id of one connected company."""
    return f"PROVIDER#{system}#{company_id}"


def provider_company_sk() -> str:
    return "TENANT"


def webhook_delivery_pk(system: str) -> str:
    """Seen webhook bodies (by digest, with TTL): provider-scoped like the company map, no tenant data."""
    return f"WEBHOOK#{system}"


# --- sync ---------------------------------------------------------------------------------------------------------

DOC_KINDS = ("invoice", "payment", "credit")


def doc_sk(kind: str, external_id: str) -> str:
    """Imported AR documents: invoices, payments, credits (credit memos/notes, overpayments, prepayments)."""
    return f"DOC#{kind}#{external_id}"


def doc_prefix(kind: str) -> str:
    return f"DOC#{kind}#"


def customer_docs_pk(tenant_id: str, system: str, external_customer_id: str) -> str:
    """GSI1 partition of one customer's documents (balance check, health features)."""
    return f"TENANT#{tenant_id}#CUSTDOCS#{system}#{external_customer_id}"


def customer_docs_sk(kind: str, external_id: str) -> str:
    return f"{kind}#{external_id}"


def sync_state_sk() -> str:
    return "SYNC#STATE"


def sync_lease_sk() -> str:
    return "SYNC#LEASE"


def sync_run_sk(run_id: str) -> str:
    return f"SYNCRUN#{run_id}"


SYNC_RUN_PREFIX = "SYNCRUN#"


def sync_active_sk() -> str:
    """Pointer to the account's queued or running sync run (coalescing of sync-now, schedule, webhooks)."""
    return "SYNC#ACTIVE"
