"""What a create_customer cold start must not import (docs/performance.md, cold start), and the untraced Tracer."""

import json
import os
import subprocess
import sys
from pathlib import Path

from arsync.observability import UntracedProvider, tracer

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import functions.create_customer.app as create
create.get_service()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"aws_xray_sdk", "requests", "jwt"}
                        or m.startswith(("aws_lambda_powertools.event_handler.openapi.models", "arsync.connectors.xero",
                                         "arsync.connectors.quickbooks", "arsync.services.connection")))))
"""


def test_create_customer_cold_start_leaves_tracing_adapters_and_jwt_unloaded() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")]),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == ["aws_xray_sdk", "aws_xray_sdk.sdk_config"]  # the disable switch only


def test_untraced_tracer_still_wraps_handlers_and_methods() -> None:
    assert isinstance(tracer.provider, UntracedProvider)  # tests run outside Lambda: Powertools disables tracing

    @tracer.capture_lambda_handler(capture_response=False)
    def handler(event: dict[str, int], context: object) -> int:
        return event["n"] + 1

    @tracer.capture_method
    def method() -> str:
        with tracer.provider.in_subsegment("## inner") as segment:
            segment.put_annotation("k", "v")
        return "done"

    assert handler({"n": 1}, None) == 2
    assert method() == "done"
