"""The one set of Powertools singletons (logger, tracer, metrics) every module imports.

Third-party loggers are capped at WARNING: at DEBUG, botocore logs Secrets Manager response bodies (OAuth
tokens) and urllib3/requests log URLs that carry OAuth codes. Raising LOG_LEVEL must never leak them.
"""

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

for _noisy in ("botocore", "boto3", "urllib3", "requests", "s3transfer", "aws_lambda_powertools"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
