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
- The server's Flask apps run with ``debug = True``, which makes Flask build a new class
  per form-encoded request (``attach_enctype_error_multidict``): a quarter of the CPU
  under load. Debug is turned off.
- Every execution re-parses the ASL definition with ANTLR (~50 ms). The evaluation
  components keep per-execution state in the execution's environment (``env.heap``),
  not on themselves, so a parsed program is cached per definition text.
- ``ReceiveMessage`` checks each message's retention through ``get_queue_attributes``,
  which counts every message in the queue: O(n) per message received. The check reads
  the retention period directly.
- Every backend lookup (``BackendDict[account]``) takes a global lock and lists the
  accounts, even when the account's backend exists: the most contended line under load.
  An existing backend is now returned without the lock.
- ``TransactWriteItems`` deep-copies every *table* it touches to roll back on failure:
  O(table size) per transaction, so the providers' ledger made each reservation slower
  than the last. The rollback now snapshots and restores only the items the
  transaction names (same outcome: all or nothing).
- Every request lists the response class's methods with ``inspect.getmembers``
  (``method_names_from_class``) and converts the action name with a regex
  (``camelcase_to_underscores``); both are pure, so both are cached.
- The response serializer finds each member of each output structure by asking six
  alias providers for candidate attribute names, built anew for every member of every
  value (a DynamoDB item's every attribute value walks ten members): a tenth of the CPU
  under load. The candidates depend only on the picker, the object's type and the
  (long-lived, cached) shape, so they are computed once per combination.
- Random identifiers: moto draws request ids and receipt handles a character per call,
  botocore a UUID per request (its ``amz-sdk-invocation-id``) and the X-Ray SDK a 64-bit
  id per segment and subsegment (sampled or not) from ``os.urandom``, a system call each:
  ~8 % of the platform's CPU under load. All only need to be unique, so all come from
  moto's own seeded PRNG, strings in one ``choices`` call (same alphabet, same length).
- SQS counts visible, in-flight and delayed messages by reading the clock once per
  message, and ``SendMessage`` builds every queue attribute, counts included, to read
  one flag: O(queue length) clock reads per send. The counts now read the clock once.
- ``UpdateItem`` parses its update expression twice per call. The parsed tree is only
  read, or deep-copied before the validator changes it, so it is cached by its text.
- An in-process request is turned into a werkzeug request (a WSGI environ, headers
  copied one by one) only to be parsed; the JSON protocol's parser reads nothing but
  the body, so JSON-protocol requests skip the conversion.
- botocore sanitizes every User-Agent component a character at a time on every
  request; the function is pure, so it is cached.
- ``DeleteMessage`` finds the message by testing every message in the queue against
  every receipt handle it ever had: O(queue length) Python calls per delete, so a queue
  that falls behind gets slower to drain the longer it is (over 5 minutes near the knee,
  a spiral). Messages are now indexed by receipt handle when they are received.
- The in-process stubber finds a request's handler by trying every service's URL
  patterns, then every URL of the matching backend, on every request. Which handler
  serves a URL does not change, so the answer is kept per URL (bounded).
- Every conditional write lexes and parses its condition expression anew. The parsed
  operator tree is never changed after it is built, and depends only on the expression,
  the attribute names and the values it references, so it is cached by those.
"""

from __future__ import annotations

import copy
import functools
import sys
import threading
from typing import Any

_applied = False
REPLICATED_FROM = "5.2.1"  # the moto version whose request path two patches reproduce


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")

_lock = threading.Lock()


def _state_machine_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    cls = type(self)
    clone = object.__new__(cls)
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
    _flask_debug_off()
    _cache_asl_programs()
    _cheap_retention_check()
    _item_level_transactions()
    _lock_free_backend_lookup()
    _cache_pure_helpers()
    _cache_attribute_aliases()
    _ids_from_one_prng()
    _one_clock_read_per_count()
    _cache_update_expressions()
    # Two patches replace a moto function's body, so they apply only on the version they copy.
    replicated = _moto_version() == REPLICATED_FROM
    if replicated:
        _json_requests_without_werkzeug()
    _cache_user_agent_components()
    _cache_condition_expressions()
    _index_receipt_handles()
    if replicated:
        _cache_stubber_routes()

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
    import moto.stepfunctions.parser.asl.component.common.path.result_path
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
    backends.list_of_moto_modules = lambda: listing


def _flask_debug_off() -> None:
    from moto.moto_server import werkzeug_app

    original = werkzeug_app.create_backend_app

    def create_backend_app(service: Any) -> Any:
        app = original(service)
        app.debug = False
        return app

    werkzeug_app.create_backend_app = create_backend_app
    from moto.moto_server import threaded_moto_server

    threaded_moto_server.create_backend_app = create_backend_app


def _cache_asl_programs() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.parse
    cached = functools.lru_cache(maxsize=64)(parse)
    AmazonStateLanguageParser.parse = staticmethod(cached)  # type: ignore[method-assign]


def _cheap_retention_check() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )


_no_table_copy = threading.local()


def _item_level_transactions() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_no_table_copy, "on", False):
            return self  # the transaction below restores items itself
        cls = type(self)
        clone = object.__new__(cls)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            setattr(clone, key, copy.deepcopy(value, memo))
        return clone

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            if len(entry) != 1:
                continue
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            source = op.get("Item") if op_type == "Put" else op.get("Key")
            if not isinstance(source, dict) or table.hash_key_attr not in source:
                continue
            hash_key = DynamoType(source[table.hash_key_attr])
            range_key = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in source:
                    continue
                range_key = DynamoType(source[table.range_key_attr])
            current = table.get_item(hash_key, range_key)
            snapshots.append((table, hash_key, range_key, copy.deepcopy(current)))
        _no_table_copy.on = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(snapshots):
                table.delete_item(hash_key, range_key)
                if item is not None:
                    if range_key is not None:
                        table.items[hash_key][range_key] = item
                    else:
                        table.items[hash_key] = item
            raise
        finally:
            _no_table_copy.on = False

    Table.__deepcopy__ = table_deepcopy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _lock_free_backend_lookup() -> None:
    from moto.core.base_backend import BackendDict

    original = BackendDict._create_account_specific_backend

    def create_if_missing(self: Any, account_id: str) -> None:
        if dict.__contains__(self, account_id):
            return
        original(self, account_id)

    BackendDict._create_account_specific_backend = create_if_missing  # type: ignore[method-assign]


def _cache_pure_helpers() -> None:
    from moto.core import responses, utils

    method_names = functools.lru_cache(maxsize=512)(utils.method_names_from_class)
    to_snake = functools.lru_cache(maxsize=8192)(utils.camelcase_to_underscores)
    responses.method_names_from_class = method_names
    original = utils.camelcase_to_underscores
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.") and getattr(module, "camelcase_to_underscores", None) is original:
            module.camelcase_to_underscores = to_snake  # type: ignore[attr-defined]
    utils.camelcase_to_underscores = to_snake


def _cache_attribute_aliases() -> None:
    from moto.core import serialize

    original = serialize.XFormedAttributePicker.get_possible_keys
    original_get_value = serialize.ResponseSerializer.get_value
    cache: dict[tuple[Any, ...], tuple[Any, tuple[str, ...]]] = {}

    def candidates(picker: Any, obj: Any, key: str, shape: Any, context: Any) -> tuple[str, ...]:
        """``context``: the picker's context, or a callable building it (only needed on a miss)."""
        cache_key = (type(picker), tuple(picker.alias_providers), type(obj), key, id(shape),
                     id(getattr(shape, "parent", None)))
        found = cache.get(cache_key)
        if found is None or found[0] is not shape:  # the shape pins its id while cached
            if callable(context):
                context = context()
            found = cache[cache_key] = (shape, tuple(original(picker, context)))
        return found[1]

    def get_possible_keys(self: Any, context: Any) -> Any:
        # Instances (not just classes) may carry their own ``Meta``: those are not cached.
        if "Meta" in getattr(context.obj, "__dict__", {}):
            return original(self, context)
        return candidates(self, context.obj, context.key, context.shape, context)

    def get_value(self: Any, value: Any, key: str, shape: Any) -> Any:
        picker = self._value_picker
        if type(value) is not dict or type(picker) is not serialize.XFormedAttributePicker \
                or picker.response_transformers:
            return original_get_value(self, value, key, shape)
        # A plain dict: the picker's answer without building a context per member.
        keys = candidates(picker, value, key, shape, lambda: serialize.AttributePickerContext(
            obj=value, key=key, shape=shape, operation_model=self.operation_model,
            service_model=self.operation_model.service_model, key_path=".".join(self.path)))
        for candidate in keys:
            if "." in candidate:
                return original_get_value(self, value, key, shape)
            if candidate in value:
                return value[candidate]
        return None

    serialize.XFormedAttributePicker.get_possible_keys = get_possible_keys  # type: ignore[method-assign]
    serialize.ResponseSerializer.get_value = get_value  # type: ignore[method-assign]


def _ids_from_one_prng() -> None:
    import string
    import types

    from aws_xray_sdk.core.models.entity import Entity
    from botocore import endpoint
    from moto.moto_api._internal import mock_random, moto_random
    from moto.sqs import models as sqs_models
    from moto.sqs import utils as sqs_utils

    def get_random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        value = "".join(self.choices(pool, k=length))
        return value.lower() if lower_case else value

    def generate_receipt_handle() -> str:
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    moto_random.MotoRandom.get_random_string = get_random_string  # type: ignore[method-assign]
    sqs_utils.generate_receipt_handle = generate_receipt_handle
    sqs_models.generate_receipt_handle = generate_receipt_handle
    # botocore.endpoint uses only ``uuid.uuid4``; give it a module-like object with moto's.
    endpoint.uuid = types.SimpleNamespace(uuid4=mock_random.uuid4)  # type: ignore[attr-defined]
    Entity._generate_random_id = lambda self: f"{mock_random.getrandbits(64):016x}"


def _one_clock_read_per_count() -> None:
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue

    def messages(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def not_visible(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def delayed(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    Queue.messages = property(messages)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[method-assign,assignment]
    Queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[method-assign,assignment]


def _cache_update_expressions() -> None:
    from moto.dynamodb.parsing import expressions

    parser: Any = expressions.UpdateExpressionParser  # type: ignore[attr-defined]
    make = parser.make.__func__
    cached = functools.lru_cache(maxsize=1024)(lambda expression: make(parser, expression))
    parser.make = classmethod(lambda cls, expression: cached(expression))


def _json_requests_without_werkzeug() -> None:
    from botocore.awsrequest import AWSPreparedRequest
    from moto.core import responses
    from moto.core.parse import JSONParser
    from moto.core.request import determine_request_protocol
    from moto.core.utils import get_service_model

    original = responses.BaseResponse.parse_parameters

    def parse_parameters(self: Any, request: Any) -> None:
        if isinstance(request, AWSPreparedRequest) and request.headers.get("Content-Encoding") != "gzip":
            content_type = request.headers.get("Content-Type")
            if isinstance(content_type, bytes):
                content_type = content_type.decode()
            service_model = get_service_model(self.boto3_service_name)
            if determine_request_protocol(service_model, content_type) == "json":
                operation_model = service_model.operation_model(self._get_action())
                parser = JSONParser(operation_model, map_type=self.PROTOCOL_PARSER_MAP_TYPE)
                self.params = parser.parse({"body": request.body or b""})  # type: ignore[typeddict-item]
                return
        original(self, request)

    responses.BaseResponse.parse_parameters = parse_parameters  # type: ignore[method-assign]


def _cache_user_agent_components() -> None:
    from botocore import useragent

    useragent.sanitize_user_agent_string_component = functools.lru_cache(maxsize=1024)(
        useragent.sanitize_user_agent_string_component)


def sign_in_process_requests_cheaply() -> None:
    """Requests answered in this process by moto's stubber skip the SigV4 computation.

    moto never verifies signatures; it reads only the access key (the account) and the
    credential scope (the region) from the Authorization header. Computing the canonical
    request and the HMAC chain was ~8 % of every in-process call, so the header keeps
    those fields with a placeholder signature. Only for the platform process, whose
    clients all reach moto in process; nothing signed this way can leave it.
    """
    from datetime import UTC, datetime

    from botocore import signers

    if getattr(signers.RequestSigner.handler, "_ecomctl", False):
        return

    def handler(self: Any, operation_name: Any = None, request: Any = None, **kwargs: Any) -> None:
        credentials = self._credentials
        if credentials is None or request is None:
            return
        frozen = credentials.get_frozen_credentials()
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        scope = f"{stamp[:8]}/{self._region_name}/{self._signing_name}/aws4_request"
        # A retried request comes back here; these headers append rather than replace.
        for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization"):
            if name in request.headers:
                del request.headers[name]
        request.headers["X-Amz-Date"] = stamp
        if frozen.token:
            request.headers["X-Amz-Security-Token"] = frozen.token
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={frozen.access_key}/{scope}, SignedHeaders=host;x-amz-date, "
            "Signature=" + "0" * 64)

    handler._ecomctl = True  # type: ignore[attr-defined]
    signers.RequestSigner.handler = handler  # type: ignore[method-assign]


def _cache_condition_expressions() -> None:
    import json
    import re

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    placeholder = re.compile(r":[A-Za-z0-9_]+")
    cache: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}

    def parse(self: Any) -> Any:
        expression = self.condition_expression
        if not expression:
            return original(self)
        values = self.expression_attribute_values or {}
        try:
            key = (expression, json.dumps(self.expression_attribute_names or {}, sort_keys=True),
                   json.dumps({p: values[p] for p in set(placeholder.findall(expression)) if p in values},
                              sort_keys=True))
        except (TypeError, ValueError):
            return original(self)
        hit = cache.get(key)
        if hit is None:
            op = original(self)  # invalid expressions raise here and are not cached
            if len(cache) > 4096:
                cache.clear()
            cache[key] = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            return op
        op, names_found, values_found = hit
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return op

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


def _cache_stubber_routes() -> None:
    import re

    import moto.backend_index as backend_index
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID, botocore_stubber
    from moto.core.base_backend import BackendDict
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
    from moto.core.exceptions import HTTPException, ServiceNotWhitelisted
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder

    routes: dict[str, list[tuple[str, Any]]] = {}

    def route(clean_url: str) -> list[tuple[str, Any]]:
        """Every (service, handler or None) whose patterns match the URL, in moto's order."""
        found: list[tuple[str, Any]] = []
        for service, pattern in backend_index.backend_url_patterns:
            if not pattern.match(clean_url):
                continue
            backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
            if isinstance(backend_dict, BackendDict):
                accounts = backend_dict[DEFAULT_ACCOUNT_ID]
                backend = accounts["us-east-1"] if "us-east-1" in accounts else accounts["aws"]
            else:
                backend = backend_dict["global"]
            handler = next((m for url, m in backend.urls.items() if re.compile(url).match(clean_url)), None)
            found.append((service, handler))
            if handler is not None:
                break
        return found

    def process_request(self: Any, request: Any) -> Any:
        parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
        clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
        if passthrough_url(clean_url):
            return None
        found = routes.get(clean_url)
        if found is None:
            found = route(clean_url)
            if len(routes) > 10_000:  # object keys in URLs (S3) must not grow this without bound
                routes.clear()
            routes[clean_url] = found
        for service, method_to_execute in found:
            if passthrough_service(service):
                return None
            if not service_whitelisted(service):
                raise ServiceNotWhitelisted(service)
            for header, value in request.headers.items():
                if isinstance(value, bytes):
                    request.headers[header] = value.decode("utf-8")
            if method_to_execute is not None:
                try:
                    recorder._record_request(request)
                    status, headers, body = method_to_execute(request, request.url, request.headers)
                except HTTPException as e:
                    status, headers, body = e.code, e.get_headers(), e.get_body()
                return status, headers, body
        if re.compile(r"https?://.+\.amazonaws.com/.*").match(clean_url):
            return 404, {}, "Not yet implemented"
        return None

    botocore_stubber.BotocoreStubber.process_request = process_request  # type: ignore[method-assign]


def _index_receipt_handles() -> None:
    import weakref

    from moto.sqs.models import Message, Queue

    by_handle: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
    mark_received = Message.mark_received
    original_delete = Queue.delete_message

    def indexed_mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        mark_received(self, visibility_timeout)
        by_handle[self.receipt_handle] = self

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message: Any = by_handle.get(receipt_handle)
        messages = self._messages
        try:
            index = messages.index(message)  # identity comparisons, in C
        except ValueError:  # not in this queue, or unknown (None is never in it)
            index = -1
        if index < 0:
            original_delete(self, receipt_handle)  # not here (or unknown): moto's own answer
            return
        # A new list, as moto does: receivers may be iterating the old one.
        self._messages = messages[:index] + messages[index + 1:]
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)

    Message.mark_received = indexed_mark_received  # type: ignore[method-assign]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
