"""The one set of Powertools singletons (logger, tracer, metrics) every module imports.

Third-party loggers are capped at WARNING: at DEBUG, botocore logs Secrets Manager response bodies (OAuth
tokens) and urllib3/requests log URLs that carry OAuth codes. Raising LOG_LEVEL must never leak them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

for _noisy in ("botocore", "boto3", "urllib3", "requests", "s3transfer", "aws_lambda_powertools"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


class _UntracedSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class UntracedProvider(BaseProvider):
    """The provider when tracing is off. Powertools' Tracer imports the X-Ray SDK (which builds a botocore
    session of its own) even when it will never trace, a third of a cold start; with tracing off a disabled
    X-Ray recorder only hands out dummy segments, which is what this does without importing it."""

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _UntracedSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _UntracedSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def _tracer() -> Tracer:
    """X-Ray (and its patching of botocore and requests) exactly when Powertools would trace: in Lambda with
    `Tracing: Active` and POWERTOOLS_TRACE_DISABLED unset. Otherwise Powertools' own decision to disable."""
    if Tracer._is_tracer_disabled():
        return Tracer(disabled=True, provider=UntracedProvider())
    return Tracer()


logger = Logger()
tracer = _tracer()
metrics = Metrics()
