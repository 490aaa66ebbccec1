"""The Powertools objects every handler shares: created once per process.

On AWS each function sets POWERTOOLS_SERVICE_NAME; locally one process hosts them all.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "EcomShop"

logger = Logger(service="ecomshop")
tracer = Tracer(service="ecomshop")
metrics = Metrics(namespace=NAMESPACE, service="ecomshop")

__all__ = ["NAMESPACE", "MetricUnit", "logger", "metrics", "tracer"]
