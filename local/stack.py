"""The whole local stack in one process: moto server, (emulators,) local API gateway, scheduler and poller.

`python -m local.stack` (make serve) runs it in the foreground until Ctrl-C; tests and the demo start
it with `LocalStack().start()` on ephemeral ports and `stop()` it when done. Nothing listens beyond
127.0.0.1 and nothing is left running after stop.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import Any

from local import gateway
from local.aws import LocalResources, MotoServer, apply_environment, provision

log = logging.getLogger("local.stack")


def reset_function_caches() -> None:
    """Functions cache their settings and clients per container; the local stack is one 'container'."""
    from arsync import aws
    from arsync.config import get_settings

    get_settings.cache_clear()
    aws.client.cache_clear()


@dataclass
class LocalStack:
    gateway_port: int = 3000
    moto_port: int = 0
    moto_in_process: bool = True
    extra_environment: dict[str, str] = field(default_factory=dict)
    moto: MotoServer | None = None
    resources: LocalResources | None = None
    api: gateway.RunningGateway | None = None
    _stoppers: list[Any] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        assert self.api is not None
        return self.api.base_url

    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.moto = MotoServer(self.moto_port, in_process=self.moto_in_process).start()
        self._stoppers.append(self.moto.stop)
        self.resources = provision(self.moto.endpoint_url)
        apply_environment(self.resources, self.extra_environment)
        reset_function_caches()
        self.api = gateway.serve_in_thread(self.gateway_port)
        self._stoppers.append(self.api.stop)
        return self

    def stop(self) -> None:
        while self._stoppers:
            stop = self._stoppers.pop()
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", stop)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the arsync local stack (make serve)")
    parser.add_argument("--port", type=int, default=3000, help="local API gateway port (default 3000)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stack = LocalStack(gateway_port=args.port, moto_in_process=False).start()
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    log.info(
        'API on %s (try: curl -H "Authorization: Bearer $(python -m local.auth --tenant demo)" %s/customers)',
        stack.api_url,
        stack.api_url,
    )
    log.info("moto server on %s; Ctrl-C stops everything", stack.resources.endpoint_url if stack.resources else "")
    try:
        stopped.wait()
    finally:
        stack.stop()
        log.info("stopped")


if __name__ == "__main__":
    main()
