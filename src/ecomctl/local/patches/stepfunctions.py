"""Step Functions: the interpreter's per-execution and per-state costs, and jsonpath-ng's parser."""

from __future__ import annotations

import copy
import functools
import importlib
import pkgutil
import threading
from typing import Any

from ecomctl.local.patches.base import Patch, Patcher


def _state_machine_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    cls = type(self)
    clone = object.__new__(cls)
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        setattr(clone, key, [] if key == "executions" else copy.deepcopy(value, memo))
    return clone


def _clone_without_executions(p: Patcher) -> None:
    from moto.stepfunctions.models import StateMachineInstance

    p.set(StateMachineInstance, "__deepcopy__", _state_machine_deepcopy)


def _executions_with_an_environment(self: Any, execution_status: Any = None) -> list[Any]:
    executions = []
    for sm in self.state_machines:
        for execution in list(sm.executions):
            worker = execution.exec_worker
            # Created a moment ago by a concurrent StartExecution (no status, no worker yet), or
            # started but its worker thread has not built the environment: no task token and no
            # map run can belong to it yet, and reading either would raise AttributeError.
            if execution.exec_status is None or worker is None or worker.env is None:
                continue
            if execution_status is None or execution_status == execution.status:
                executions.append(execution)
    return executions


def _skip_executions_still_starting(p: Patcher) -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    p.set(StepFunctionsParserBackend, "_get_executions", _executions_with_an_environment)


def _cache_boto_clients(p: Patcher) -> None:
    import moto.stepfunctions.parser.asl.component.state.exec.state_task as state_task
    from moto.stepfunctions.parser.asl.utils import boto_client

    # Load every module that imports the function by name first, so that the rebinding reaches them.
    for info in pkgutil.walk_packages(state_task.__path__, state_task.__name__ + "."):
        importlib.import_module(info.name)
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

    p.rebind(("moto.stepfunctions.parser",), "boto_client_for", original, cached_boto_client_for)


def _cache_jsonpath(p: Patcher) -> None:
    import jsonpath_ng
    import jsonpath_ng.ext

    # The interpreter modules that bind ``parse`` by name, loaded so that the rebinding reaches them.
    import moto.stepfunctions.parser.asl.component.common.path.result_path
    import moto.stepfunctions.parser.asl.utils.json_path  # noqa: F401

    for original in (jsonpath_ng.parse, jsonpath_ng.ext.parse):
        p.rebind(("moto.", "jsonpath_ng"), "parse", original, functools.lru_cache(maxsize=4096)(original))


def _cache_asl_programs(p: Patcher) -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    cached = functools.lru_cache(maxsize=64)(AmazonStateLanguageParser.parse)
    p.set(AmazonStateLanguageParser, "parse", staticmethod(cached))


CLONE_WITHOUT_EXECUTIONS = Patch(
    name="sfn-clone-without-executions",
    fingerprints={"moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution": "203663211839d37f"},
    why="StartExecution deep-copies the state machine and, through its backend, every execution in the "
        "region, so each start is slower than the last; once any execution has finished (its worker holds "
        "locks) the copy fails with TypeError: cannot pickle '_thread.RLock'. The clone is only read for its "
        "definition and type; it now leaves the execution lists out.",
    retire_when="start_execution stops deep-copying the state machine's executions",
    upstream_bug="moto StepFunctionsParserBackend.start_execution deep-copies the state machine with the "
                 "backend's past executions: O(executions so far), and TypeError once one has finished",
    apply=_clone_without_executions,
    kind="fix",
)

BOTO_CLIENT_CACHE = Patch(
    name="sfn-boto-client-cache",
    fingerprints={"moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for": "1f44dc2ac8aa2179"},
    why="The ASL interpreter builds a new boto3 client for every Task state it runs (loading the service "
        "model each time); clients are thread-safe, so one per (region, service, endpoint) is kept.",
    retire_when="boto_client_for caches its clients",
    upstream_bug="moto stepfunctions parser boto_client_for creates a new boto3 client per Task state "
                 "execution",
    apply=_cache_boto_clients,
)

JSONPATH_CACHE = Patch(
    name="jsonpath-parse-cache",
    fingerprints={
        # Reviewed against jsonpath-ng 1.8 and 1.16. In 1.16 parse() gained type annotations and
        # JsonPathParser.__init__ loads a pre-generated table instead of generating one (so the
        # cache saves less there: not measured); parse stays a pure function of the path text.
        "jsonpath_ng.parser.parse": ("9328f98dcb0c5346", "cd433e740d17c7ee"),
        "jsonpath_ng.ext.parser.parse": ("b14117c53620d99b", "8e8fc5e91980418d"),
        "jsonpath_ng.parser.JsonPathParser.__init__": ("8d5b4c28ce96a52c", "77cd976cc81a1a68"),
    },
    why="The interpreter (and EventBridge input paths) parse every path of every state with jsonpath_ng, "
        "whose parser rebuilds its PLY LALR tables on each call (write_tables=0). Parsed expressions are "
        "cached by their text.",
    retire_when="jsonpath-ng builds its parse tables once per process (or moto caches parsed paths)",
    upstream_bug="jsonpath-ng JsonPathParser.__init__ runs ply.yacc.yacc() (table generation) on every "
                 "parse() call; moto's ASL interpreter calls it per path per state",
    apply=_cache_jsonpath,
)

ASL_PROGRAM_CACHE = Patch(
    name="sfn-asl-program-cache",
    fingerprints={"moto.stepfunctions.parser.asl.parse.asl_parser.AmazonStateLanguageParser.parse": "e08871c8420ad7a1"},
    why="Every execution re-parses its ASL definition with ANTLR. The evaluation components keep "
        "per-execution state in the execution's environment (env.heap), not on themselves, so a parsed "
        "program is cached per definition text.",
    retire_when="moto parses a state machine's definition once, when it is created or updated",
    upstream_bug="moto stepfunctions parser re-parses the ASL definition with ANTLR on every StartExecution",
    apply=_cache_asl_programs,
)

CALLBACKS_SKIP_STARTING_EXECUTIONS = Patch(
    name="sfn-callbacks-skip-starting-executions",
    fingerprints={
        "moto.stepfunctions.parser.models.StepFunctionsParserBackend._get_executions": "130ed57aa992341a",
        "moto.stepfunctions.parser.models.StepFunctionsParserBackend.send_task_success": "af178e584c077e00",
        "moto.stepfunctions.parser.backend.execution.Execution.start": "1ab86e01d4bab389",
    },
    why="SendTaskSuccess/Failure/Heartbeat look for the token in every execution, reading each one's status "
        "and its worker's environment. An execution that a concurrent StartExecution has just appended has "
        "neither yet (the status is set in start(), the environment in the worker's thread), so the call "
        "fails with AttributeError (500). Under load a consumer's answer failed that way, its SQS message "
        "came back after the queue's 60 s visibility timeout, and the order waited a minute at that stage "
        "(seen in every 2x overload run: INVENTORY_RESERVED -> PAID 60 s, SHIPPED -> COMPLETED 60 s). "
        "Executions still starting are skipped: no token can belong to them yet.",
    retire_when="the parser backend skips executions that have no worker environment yet",
    upstream_bug="moto stepfunctions parser: SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat raise "
                 "AttributeError (exec_status or exec_worker.env is None) when another execution is "
                 "starting concurrently",
    apply=_skip_executions_still_starting,
    kind="fix",
)

PATCHES = (CALLBACKS_SKIP_STARTING_EXECUTIONS, CLONE_WITHOUT_EXECUTIONS, BOTO_CLIENT_CACHE, JSONPATH_CACHE,
           ASL_PROGRAM_CACHE)
