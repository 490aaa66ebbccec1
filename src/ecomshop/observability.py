"""The Powertools objects every handler shares: created once per process.

On AWS each function sets POWERTOOLS_SERVICE_NAME; locally one process hosts them all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "EcomShop"

logger = Logger(service="ecomshop")
tracer = Tracer(service="ecomshop")
metrics = Metrics(namespace=NAMESPACE, service="ecomshop")

R = TypeVar("R")


def instrumented(handler: Callable[[Any, Any], R]) -> Callable[[Any, Any], R]:
    """Metrics (EMF), a traced handler, and per-invocation log keys for one handler.

    Log keys go through ``thread_safe_append_keys`` rather than
    ``inject_lambda_context``, whose keys are shared by every thread: the local target
    hosts all handlers on threads in one process.
    """

    @functools.wraps(handler)
    def with_log_keys(event: Any, context: Any) -> R:
        logger.thread_safe_append_keys(
            function_name=getattr(context, "function_name", None),
            function_request_id=getattr(context, "aws_request_id", None),
        )
        try:
            return handler(event, context)
        finally:
            logger.thread_safe_clear_keys()

    traced = tracer.capture_lambda_handler(with_log_keys, capture_response=False)
    return metrics.log_metrics(traced)


def correlate(order_id: str) -> None:
    """Tie this invocation's logs and trace to an order."""
    logger.thread_safe_append_keys(order_id=order_id, correlation_id=order_id)
    tracer.put_annotation("order_id", order_id)


__all__ = ["NAMESPACE", "MetricUnit", "correlate", "instrumented", "logger", "metrics", "tracer"]
