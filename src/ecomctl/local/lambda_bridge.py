"""Run the real handlers where Lambda would: in-process, behind moto's Lambda API.

moto's docker-free Lambda backend answers every Invoke with a canned echo. The bridge
replaces that one method so an Invoke (from Step Functions' interpreter, or anyone
calling the Lambda API) runs the topology's handler with a Lambda-like context, and a
raised exception comes back as Lambda reports it: ``X-Amz-Function-Error: Unhandled``
with ``errorType``/``errorMessage``, which Step Functions turns into the error name.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from ecomshop.topology import Function, Topology


@dataclass
class LambdaContext:
    """The attributes Powertools and handlers read from Lambda's context object."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    function: str  # logical name
    duration_ms: float
    error: str | None  # errorType when the handler raised


InvocationHook = Callable[[Invocation], None]
# Wraps one invocation (e.g. an X-Ray segment around it): (function, context) -> context manager.
InvocationWrapper = Callable[[Function, "LambdaContext"], AbstractContextManager[Any]]


class FunctionHost:
    """Resolves, invokes and times the topology's handlers in this process."""

    def __init__(self, topology: Topology, arns: dict[str, str] | None = None) -> None:
        self.topology = topology
        self._by_physical = {topology.name(f.logical): f for f in topology.functions}
        self._arns = arns or {}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._lock = threading.Lock()
        self.hooks: list[InvocationHook] = []
        self.wrapper: InvocationWrapper | None = None

    def function_for(self, name_or_arn: str) -> Function | None:
        name = name_or_arn.split(":function:")[-1].split(":")[0]
        return self._by_physical.get(name)

    def handler(self, fn: Function) -> Callable[[Any, Any], Any]:
        with self._lock:
            if fn.logical not in self._handlers:
                module, _, attr = fn.handler.rpartition(".")
                self._handlers[fn.logical] = getattr(importlib.import_module(module), attr)
            return self._handlers[fn.logical]

    def invoke(self, logical: str, event: Any) -> Any:
        """Invoke like Lambda's RequestResponse: the result, or the handler's exception."""
        fn = self.topology.function(logical)
        context = LambdaContext(
            function_name=self.topology.name(fn.logical),
            memory_limit_in_mb=fn.memory_mb,
            invoked_function_arn=self._arns.get(fn.logical, f"arn:aws:lambda:local:000000000000:function:{fn.logical}"),
            timeout_s=fn.timeout_s,
        )
        started = time.perf_counter()
        error: str | None = None
        try:
            handler = self.handler(fn)
            if self.wrapper is None:
                return handler(event, context)
            with self.wrapper(fn, context):
                return handler(event, context)
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            record = Invocation(fn.logical, (time.perf_counter() - started) * 1000, error)
            for hook in self.hooks:
                hook(record)


_active_host: FunctionHost | None = None
_original_invoke = LambdaSimpleBackend.invoke


def _bridged_invoke(
    self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any,
    response_headers: Any,
) -> bytes | str | None:
    host = _active_host
    fn = host.function_for(function_name) if host else None
    if host is None or fn is None:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)
    event = json.loads(body) if body else {}
    try:
        result = host.invoke(fn.logical, event)
    except Exception as exc:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(
            {"errorType": type(exc).__name__, "errorMessage": str(exc),
             "stackTrace": traceback.format_exception_only(exc)}
        ).encode()
    return json.dumps(result, default=str).encode()


class _PerThread:
    """A data descriptor giving each thread its own value of an instance attribute.

    Lambda runs one invocation per execution environment at a time, so Powertools keeps
    the metrics an invocation adds in shared (class-level) dicts until ``log_metrics``
    flushes them. Here concurrent invocations share one process: one thread's flush
    would emit, or clear, another's metrics (and a flush racing a clear raised
    "Must contain at least one metric"). Per thread is per invocation: an invocation
    runs on one thread from start to flush.
    """

    def __init__(self, factory: Callable[[Any], Any]) -> None:
        self.factory = factory
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def _local(self, obj: Any) -> threading.local:
        local = obj.__dict__.get("_per_thread")
        if local is None:
            with _per_thread_lock:
                local = obj.__dict__.setdefault("_per_thread", threading.local())
        return local

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        local = self._local(obj)
        value = getattr(local, self.name, None)
        if value is None:
            value = self.factory(obj)
            setattr(local, self.name, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        # Set by the constructor, on the constructing thread: the shared initial value is
        # not adopted (every thread starts from the factory: empty, plus default dimensions).
        self._local(obj)


_per_thread_lock = threading.Lock()


def isolate_powertools_metrics() -> None:
    """Give each invocation thread its own Powertools metric, dimension and metadata sets."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider as P

    if isinstance(P.__dict__.get("metric_set"), _PerThread):
        return
    attrs = {
        "metric_set": lambda obj: {},
        "dimension_set": lambda obj: {k: str(v) for k, v in (obj.__dict__.get("default_dimensions") or {}).items()},
        "dimension_sets": lambda obj: [],
        "metadata_set": lambda obj: {},
    }
    for name, factory in attrs.items():
        descriptor = _PerThread(factory)
        descriptor.__set_name__(P, name)
        setattr(P, name, descriptor)


def install(host: FunctionHost) -> None:
    """Route moto Lambda invocations for the topology's functions to ``host``."""
    global _active_host
    isolate_powertools_metrics()
    _active_host = host
    LambdaSimpleBackend.invoke = _bridged_invoke  # type: ignore[method-assign]


def uninstall() -> None:
    global _active_host
    _active_host = None
    LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
