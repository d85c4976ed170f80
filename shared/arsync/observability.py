"""The one set of Powertools singletons (logger, tracer, metrics) every module imports."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
