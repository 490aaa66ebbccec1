"""X-Ray tracing for handlers hosted in one long-lived process.

In Lambda, the service opens the function's segment and Powertools' Tracer adds
subsegments to it. Here the bridge opens one segment per invocation (origin
``AWS::Lambda::Function``, named after the function) on the calling thread, and the
X-Ray SDK sends it to the daemon stand-in when it closes.

Order matters: the SDK's recorder picks its context when it is imported (Lambda's
facade-segment context if ``LAMBDA_TASK_ROOT`` is set, a thread-local one otherwise),
and Powertools only enables its Tracer when ``LAMBDA_TASK_ROOT`` is set. So the recorder
is imported and configured first, then ``LAMBDA_TASK_ROOT`` is set for Powertools.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ecomshop.topology import Function


def enable(daemon_address: str, service: str) -> Any:
    from aws_xray_sdk.core import xray_recorder

    xray_recorder.configure(
        sampling=False,  # every invocation is traced; no sampling-rule calls to a daemon that has none
        context_missing="IGNORE_ERROR",  # SDK calls outside an invocation (pollers, emitters) are not traced
        daemon_address=daemon_address,
        service=service,
        streaming_threshold=100,
    )
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = daemon_address
    os.environ["AWS_XRAY_CONTEXT_MISSING"] = "IGNORE_ERROR"
    os.environ.setdefault("LAMBDA_TASK_ROOT", os.getcwd())
    os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)
    return xray_recorder


def disable() -> None:
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"


def segment_wrapper(recorder: Any, arns: dict[str, str]) -> Any:
    @contextmanager
    def wrapper(fn: Function, context: Any) -> Iterator[None]:
        segment = recorder.begin_segment(name=context.function_name)
        segment.origin = "AWS::Lambda::Function"
        segment.set_aws({"function_arn": arns.get(fn.logical, ""), "request_id": context.aws_request_id})
        try:
            yield
        except Exception as exc:
            segment.add_exception(exc, stack=[])
            raise
        finally:
            recorder.end_segment()

    return wrapper
