"""Reads template.yaml the way the local stack needs it: resources, API routes, schedules and queues.

SAM intrinsics (`!Ref`, `!GetAtt`, `!Sub`) are kept as plain markers; the local stack resolves the few it
needs itself, so there is one source of truth for routes, keys and queue settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _Intrinsic(dict[str, Any]):
    """A tagged value such as `!Ref AppTable`, kept as {"Ref": "AppTable"}."""


class _TemplateLoader(yaml.SafeLoader):
    pass


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Intrinsic:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return _Intrinsic({name: value})


_TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass
    return document


@dataclass(frozen=True)
class ApiRoute:
    function: str  # logical id
    module: str  # import path of the handler module, e.g. functions.create_customer.app
    handler: str  # attribute name, e.g. lambda_handler
    method: str  # upper case
    path: str  # SAM form, /customers/{customer_id}
    authorized: bool

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\{([A-Za-z0-9_]+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    module: str
    handler: str
    timeout: int
    events: dict[str, Any]


def _handler_module(properties: dict[str, Any]) -> tuple[str, str]:
    code_uri = str(properties["CodeUri"]).strip("/")
    module_file, handler = str(properties["Handler"]).rsplit(".", 1)
    return f"{code_uri.replace('/', '.')}.{module_file}", handler


def functions(template: dict[str, Any] | None = None) -> list[FunctionSpec]:
    template = template or load_template()
    default_timeout = int(template.get("Globals", {}).get("Function", {}).get("Timeout", 3))
    specs = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module, handler = _handler_module(properties)
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                module=module,
                handler=handler,
                timeout=int(properties.get("Timeout", default_timeout)),
                events=properties.get("Events", {}),
            )
        )
    return specs


def api_routes(template: dict[str, Any] | None = None) -> list[ApiRoute]:
    routes = []
    for spec in functions(template):
        for event in spec.events.values():
            if event["Type"] != "Api":
                continue
            properties = event["Properties"]
            authorizer = (properties.get("Auth") or {}).get("Authorizer")
            routes.append(
                ApiRoute(
                    function=spec.logical_id,
                    module=spec.module,
                    handler=spec.handler,
                    method=str(properties["Method"]).upper(),
                    path=str(properties["Path"]),
                    authorized=authorizer != "NONE",
                )
            )
    return routes


def resource(logical_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = (template or load_template())["Resources"]
    return dict(resources[logical_id])
