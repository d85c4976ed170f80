"""Infrastructure promises checked on template.yaml itself."""

from __future__ import annotations

from typing import Any

from local.template import functions, load_template, resource


def test_layer_is_built_for_arm64_python313() -> None:
    layer = resource("SharedLayer")
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "shared/"
    glob = load_template()["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13" and glob["Architectures"] == ["arm64"]


def test_queue_redrive_and_visibility_cover_the_worker() -> None:
    queue = resource("SyncQueue")["Properties"]
    assert int(queue["RedrivePolicy"]["maxReceiveCount"]) >= 5
    sqs_consumers = [s for s in functions() if any(e["Type"] == "SQS" for e in s.events.values())]
    for spec in sqs_consumers:
        assert queue["VisibilityTimeout"] >= 6 * spec.timeout
        for event in spec.events.values():
            assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_table_has_pitr_ttl_and_retention() -> None:
    table: dict[str, Any] = resource("AppTable")
    assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["DeletionPolicy"] == "Retain"


def test_tenant_attribute_is_immutable_and_not_writable_by_clients() -> None:
    schema = resource("UserPool")["Properties"]["Schema"]
    tenant = next(a for a in schema if a["Name"] == "tenant_id")
    assert tenant["Mutable"] is False
    client = resource("UserPoolClient")["Properties"]
    assert "custom:tenant_id" not in client["WriteAttributes"]
    assert "custom:tenant_id" in client["ReadAttributes"]


def test_only_public_routes_skip_the_authorizer() -> None:
    from local.template import api_routes

    public = {(r.method, r.path) for r in api_routes() if not r.authorized}
    allowed = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/connection/callback")}
    allowed |= {("POST", "/webhooks/quickbooks_online"), ("POST", "/webhooks/xero")}
    assert public <= allowed


def test_no_function_policy_grants_scan_or_wildcards() -> None:
    for logical_id, res in load_template()["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for policy in res["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert "dynamodb:Scan" not in actions, logical_id
                assert not any(a.endswith("*") for a in actions), logical_id
