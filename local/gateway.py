"""Local API Gateway: routes from template.yaml, real REST proxy events, the Cognito authorizer emulated.

Requests are turned into the exact v1 proxy event API Gateway sends, with the verified claims under
`requestContext.authorizer.claims`, and the function's `lambda_handler` is invoked in-process. Unknown
routes and methods answer like API Gateway (403 "Missing Authentication Token"); a missing or invalid
token on an authorised route answers 401 "Unauthorized" without invoking the function.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from local.auth import verify_token
from local.lambda_context import LocalLambdaContext
from local.template import ApiRoute, api_routes, functions

log = logging.getLogger(__name__)

STAGE = "local"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class LocalApiGateway:
    def __init__(self, routes: list[ApiRoute] | None = None) -> None:
        self.routes = routes if routes is not None else api_routes()
        self._timeouts = {spec.logical_id: spec.timeout for spec in functions()}
        self._handlers: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()
        # One invocation at a time per function, as in one Lambda execution environment: a Powertools
        # resolver keeps the current request on the module-level app, so it must never see two at once.
        self._invocation_locks: dict[str, threading.Lock] = {}

    def handler_for(self, route: ApiRoute) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        with self._lock:
            if route.module not in self._handlers:
                module = importlib.import_module(route.module)
                self._handlers[route.module] = getattr(module, route.handler)
                self._invocation_locks[route.module] = threading.Lock()
            return self._handlers[route.module]

    def invoke(self, route: ApiRoute, event: dict[str, Any], context: Any) -> dict[str, Any]:
        handler = self.handler_for(route)
        with self._invocation_locks[route.module]:
            return handler(event, context)

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route, found.groupdict()
        return None

    def build_event(
        self, request: Request, route: ApiRoute, path_params: dict[str, str], claims: dict[str, Any] | None
    ) -> dict[str, Any]:
        raw = request.get_data(cache=True)
        try:
            body: str | None = raw.decode("utf-8") if raw else None
            is_base64 = False
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw).decode(), True
        headers = dict(request.headers.items())
        multi_headers: dict[str, list[str]] = {}
        for key, value in request.headers.items():
            multi_headers.setdefault(key, []).append(value)
        query = {key: values[-1] for key, values in request.args.lists()} or None
        multi_query = {key: list(values) for key, values in request.args.lists()} or None
        now = datetime.now(UTC)
        request_context: dict[str, Any] = {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": "local",
            "extendedRequestId": str(uuid.uuid4()),
            "httpMethod": route.method,
            "identity": {
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "user": None,
                "userArn": None,
            },
            "path": f"/{STAGE}{request.path}",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "local",
            "resourcePath": route.path,
            "stage": STAGE,
        }
        if claims is not None:
            request_context["authorizer"] = {"claims": {key: str(value) for key, value in claims.items()}}
        return {
            "body": body,
            "headers": headers or None,
            "httpMethod": route.method,
            "isBase64Encoded": is_base64,
            "multiValueHeaders": multi_headers or None,
            "multiValueQueryStringParameters": multi_query,
            "path": request.path,
            "pathParameters": path_params or None,
            "queryStringParameters": query,
            "requestContext": request_context,
            "resource": route.path,
            "stageVariables": None,
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.content_length and request.content_length > MAX_PAYLOAD_BYTES:
            return _json(413, {"message": "Request Too Long"})
        matched = self.match(request.method, request.path)
        if matched is None:
            return _json(403, {"message": "Missing Authentication Token"})
        route, path_params = matched
        claims = None
        if route.authorized:
            claims = verify_token(request.headers.get("Authorization"))
            if claims is None:
                return _json(401, {"message": "Unauthorized"})
        event = self.build_event(request, route, path_params, claims)
        context = LocalLambdaContext(function_name=route.function, timeout_seconds=self._timeouts[route.function])
        started = time.perf_counter()
        try:
            result = self.invoke(route, event, context)
        except Exception:
            log.exception("function %s raised", route.function)
            return _json(502, {"message": "Internal server error"})
        log.debug(
            "%s %s -> %s in %.1f ms",
            route.method,
            request.path,
            result.get("statusCode"),
            (time.perf_counter() - started) * 1000,
        )
        return self._to_response(result)

    @staticmethod
    def _to_response(result: dict[str, Any]) -> Response:
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        response = Response(payload, status=int(result.get("statusCode", 200)))
        response.headers.clear()
        for key, value in (result.get("headers") or {}).items():
            response.headers[key] = str(value)
        for key, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                if response.headers.get(key) != str(value):
                    response.headers.add(key, str(value))
        return response


class RunningGateway:
    def __init__(self, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


def serve_in_thread(port: int = 3000, gateway: LocalApiGateway | None = None) -> RunningGateway:
    server = make_server("127.0.0.1", port, gateway or LocalApiGateway(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="local-api-gateway", daemon=True)
    thread.start()
    return RunningGateway(server, thread)
