"""Narrow fixes to moto 5.2 internals that the platform process depends on.

Each one keeps moto's behaviour and only removes a cost that grows with the run:

- ``StartExecution`` deep-copies the state machine *including every execution it ever
  ran* (``StepFunctionsParserBackend.start_execution``), so each start gets slower as
  the window ages; the copy now leaves the execution list out (the clone is only used
  for its definition and type).
- The ASL interpreter builds a new boto3 client for every Task (``boto_client_for``);
  clients are thread-safe, so one per (region, service) is cached.
- The interpreter (and EventBridge input paths) call ``jsonpath_ng`` ``parse`` for every
  path of every state, and jsonpath_ng rebuilds its LALR tables on each call (~30 ms);
  parsed expressions are cached by their text.
- The server's dispatcher lists moto's package directory on every request, under a
  global lock (``list_of_moto_modules``); the listing is cached.
"""

from __future__ import annotations

import copy
import functools
import sys
import threading
from typing import Any

_applied = False
_lock = threading.Lock()


def _state_machine_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    cls = type(self)
    clone = cls.__new__(cls)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        setattr(clone, key, [] if key == "executions" else copy.deepcopy(value, memo))
    return clone


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        _applied = True
    from moto.stepfunctions.models import StateMachineInstance
    from moto.stepfunctions.parser.asl.utils import boto_client

    StateMachineInstance.__deepcopy__ = _state_machine_deepcopy  # type: ignore[attr-defined]
    _cache_jsonpath()
    _cache_module_listing()

    original = boto_client.boto_client_for
    cache: dict[tuple[str, str, str], Any] = {}
    cache_lock = threading.Lock()

    def cached_boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        key = (region, service, "stub" if botocore_stubber.enabled else moto_server_port())
        with cache_lock:
            found = cache.get(key)
            if found is None:
                found = cache[key] = original(region, service, state_credentials)
            return found

    boto_client.boto_client_for = cached_boto_client_for
    import importlib
    import pkgutil

    import moto.stepfunctions.parser.asl.component.state.exec.state_task as state_task

    for info in pkgutil.walk_packages(state_task.__path__, state_task.__name__ + "."):
        importlib.import_module(info.name)
    # Modules that imported the function by name keep their own reference: rebind them.
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = cached_boto_client_for  # type: ignore[attr-defined]


def _cache_jsonpath() -> None:
    import jsonpath_ng
    import jsonpath_ng.ext

    # Import the interpreter modules that bound ``parse`` by name, then rebind them.
    import moto.stepfunctions.parser.asl.component.common.path.result_path  # noqa: F401
    import moto.stepfunctions.parser.asl.utils.json_path  # noqa: F401

    plain = functools.lru_cache(maxsize=4096)(jsonpath_ng.parse)
    ext = functools.lru_cache(maxsize=4096)(jsonpath_ng.ext.parse)
    originals = {id(jsonpath_ng.parse): plain, id(jsonpath_ng.ext.parse): ext}
    for name, module in list(sys.modules.items()):
        if not (name.startswith("moto.") or name.startswith("jsonpath_ng")):
            continue
        current = getattr(module, "parse", None)
        if current is not None and id(current) in originals:
            module.parse = originals[id(current)]  # type: ignore[attr-defined]


def _cache_module_listing() -> None:
    from moto import backends

    listing = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: listing  # type: ignore[assignment]
