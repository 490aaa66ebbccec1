"""moto's request path: dispatch, backend lookup, parsing and serializing, shared by every service."""

from __future__ import annotations

import functools
import re
from typing import Any

from ecomctl.local.patches.base import Patch, Patcher


def _cache_module_listing(p: Patcher) -> None:
    from moto import backends

    listing = tuple(backends.list_of_moto_modules())
    p.set(backends, "list_of_moto_modules", lambda: listing)


def _flask_debug_off(p: Patcher) -> None:
    import moto.moto_server.threaded_moto_server  # noqa: F401  (binds the function by name)
    from moto.moto_server import werkzeug_app

    original = werkzeug_app.create_backend_app

    def create_backend_app(service: Any) -> Any:
        app = original(service)
        app.debug = False
        return app

    p.rebind(("moto.",), "create_backend_app", original, create_backend_app)


def _lock_free_backend_lookup(p: Patcher) -> None:
    from moto.core.base_backend import BackendDict

    original = BackendDict._create_account_specific_backend

    def create_if_missing(self: Any, account_id: str) -> None:
        if dict.__contains__(self, account_id):
            return
        original(self, account_id)

    p.set(BackendDict, "_create_account_specific_backend", create_if_missing)


def _cache_pure_helpers(p: Patcher) -> None:
    from moto.core import utils

    for name, size in (("method_names_from_class", 512), ("camelcase_to_underscores", 8192)):
        original = getattr(utils, name)
        p.rebind(("moto.",), name, original, functools.lru_cache(maxsize=size)(original))


def _cache_attribute_aliases(p: Patcher) -> None:
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

    p.set(serialize.XFormedAttributePicker, "get_possible_keys", get_possible_keys)
    p.set(serialize.ResponseSerializer, "get_value", get_value)


def _json_requests_without_werkzeug(p: Patcher) -> None:
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

    p.set(responses.BaseResponse, "parse_parameters", parse_parameters)


_GZIP_MAGIC = b"\x1f\x8b"


def _decompress_once(p: Patcher) -> None:
    from moto.core import responses

    original = responses.gzip_decompress

    def gzip_decompress_if_compressed(body: bytes) -> bytes:
        # The server's before_request hook has already decompressed a gzip request's stream,
        # but Content-Encoding still says gzip; only a body that is still compressed is inflated.
        if isinstance(body, bytes | bytearray) and bytes(body[:2]) != _GZIP_MAGIC:
            return body
        return original(body)

    p.rebind(("moto.core.responses",), "gzip_decompress", original, gzip_decompress_if_compressed)


def _route(clean_url: str) -> list[tuple[str, Any]]:
    """Every (service, handler or None) whose patterns match the URL, in moto's order."""
    import moto.backend_index as backend_index
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict

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


def _cache_stubber_routes(p: Patcher) -> None:
    from moto.core import botocore_stubber
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
    from moto.core.exceptions import HTTPException, ServiceNotWhitelisted
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder

    routes: dict[str, list[tuple[str, Any]]] = {}

    def process_request(self: Any, request: Any) -> Any:
        parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
        clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
        if passthrough_url(clean_url):
            return None
        found = routes.get(clean_url)
        if found is None:
            found = _route(clean_url)
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

    p.set(botocore_stubber.BotocoreStubber, "process_request", process_request)


MODULE_LISTING_CACHE = Patch(
    name="server-module-listing-cache",
    fingerprints={"moto.backends.list_of_moto_modules": "4f741a10b06500e8"},
    why="The server's dispatcher lists moto's package directory (an os.listdir and an isdir per entry) on "
        "every request, under its global lock. The listing is computed once.",
    retire_when="the dispatcher stops listing the package directory per request",
    upstream_bug="moto DomainDispatcherApplication calls backends.list_of_moto_modules() (os.listdir + "
                 "~170 isdir) on every request, inside its lock",
    apply=_cache_module_listing,
)

FLASK_DEBUG_OFF = Patch(
    name="server-flask-debug-off",
    fingerprints={"moto.moto_server.werkzeug_app.create_backend_app": "31fb9f87b9270230"},
    why="The server's Flask apps run with debug = True, which makes Flask build a new class per form-encoded "
        "request (attach_enctype_error_multidict): a quarter of the server's CPU under load. Debug is off.",
    retire_when="create_backend_app stops setting debug = True",
    upstream_bug="moto werkzeug_app.create_backend_app sets Flask debug=True in the server: Flask's "
                 "attach_enctype_error_multidict then creates a class per form request (~25% CPU under load)",
    apply=_flask_debug_off,
)

LOCK_FREE_BACKEND_LOOKUP = Patch(
    name="lock-free-backend-lookup",
    fingerprints={
        "moto.core.base_backend.BackendDict._create_account_specific_backend": "d8fc66a7dda1d6c8",
        "moto.core.base_backend.BackendDict.__getitem__": "b7c5b4bc0fc87260",
    },
    why="Every backend lookup (BackendDict[account]) takes a global lock and copies the account list, even "
        "when the account's backend exists: the most contended line under load. An existing backend is "
        "returned without the lock.",
    retire_when="BackendDict checks for an existing account before taking backend_lock",
    upstream_bug="moto BackendDict.__getitem__ takes the global backend_lock and builds list(self.keys()) on "
                 "every lookup; a check before the lock removes the contention",
    apply=_lock_free_backend_lookup,
)

PURE_HELPER_CACHE = Patch(
    name="pure-helper-cache",
    fingerprints={
        "moto.core.utils.method_names_from_class": "9dbac89d082b655f",
        "moto.core.utils.camelcase_to_underscores": "084cdc5bab92db95",
    },
    why="Every request lists the response class's methods with inspect.getmembers (method_names_from_class) "
        "and converts the action name with a regex (camelcase_to_underscores); both are pure, so both are "
        "cached.",
    retire_when="moto caches these (or stops calling them per request)",
    upstream_bug="moto BaseResponse.call_action runs inspect.getmembers on the response class for every "
                 "request (method_names_from_class)",
    apply=_cache_pure_helpers,
)

ATTRIBUTE_ALIAS_CACHE = Patch(
    name="serializer-alias-cache",
    fingerprints={
        "moto.core.serialize.XFormedAttributePicker.get_possible_keys": "57deb7669fdaf44e",
        "moto.core.serialize.ResponseSerializer.get_value": "e9e6f200cfa83ddb",
    },
    why="The response serializer finds each member of each output structure by asking six alias providers "
        "for candidate names, built anew for every member of every value (a DynamoDB attribute value walks "
        "ten members): a tenth of the CPU under load. The candidates depend only on the picker, the object's "
        "type and the (long-lived) shape, so they are computed once per combination.",
    retire_when="the serializer caches the candidate keys per shape",
    upstream_bug="moto core.serialize XFormedAttributePicker.get_possible_keys recomputes alias candidates "
                 "per member per value (~10% CPU serializing DynamoDB items)",
    apply=_cache_attribute_aliases,
)

JSON_REQUESTS_WITHOUT_WERKZEUG = Patch(
    name="json-requests-without-werkzeug",
    fingerprints={"moto.core.responses.BaseResponse.parse_parameters": "23275bb17a99d3c3"},
    why="An in-process request is turned into a werkzeug request (a WSGI environ, headers copied one by one) "
        "only to be parsed; the JSON protocol's parser reads nothing but the body, so JSON-protocol requests "
        "skip the conversion.",
    retire_when="parse_parameters reads JSON bodies from the botocore request directly",
    upstream_bug=None,
    apply=_json_requests_without_werkzeug,
)

STUBBER_ROUTE_CACHE = Patch(
    name="stubber-route-cache",
    fingerprints={"moto.core.botocore_stubber.BotocoreStubber.process_request": "bf2f74e3fe71b0ab"},
    why="The in-process stubber finds a request's handler by trying every service's URL patterns, then "
        "every URL of the matching backend, compiling each regex, on every request. Which handler serves a "
        "URL does not change, so the answer is kept per URL (bounded).",
    retire_when="BotocoreStubber caches its URL resolution",
    upstream_bug="moto BotocoreStubber.process_request matches the URL against every backend pattern and "
                 "re.compile()s each backend URL on every in-process request",
    apply=_cache_stubber_routes,
)

GZIP_DECOMPRESSED_ONCE = Patch(
    name="server-gzip-decompressed-once",
    fingerprints={
        "moto.core.responses.BaseResponse.setup_class": "feb4b26e9f55ffe1",
        "moto.moto_server.utilities.decompress_request_body": "edf3d7bba36eee52",
    },
    why="moto's server decompresses a gzip request in a Flask before_request hook, then setup_class "
        "decompresses the body again (the Content-Encoding header is still there) and answers 500 "
        "BadGzipFile. botocore gzips PutMetricData bodies of 10 KB and more, so a second cell's metrics "
        "batches to the shared CloudWatch on cell 0 were lost under load (31 batches in a 90 s run at "
        "1 000-1 600 orders/min), as would be an aws CLI put-metric-data of that size. A body is now "
        "inflated only while it is still compressed.",
    retire_when="setup_class stops decompressing what the server's before_request hook already decompressed",
    upstream_bug="moto server: a gzip-encoded request (botocore's request compression, e.g. PutMetricData "
                 ">= 10 KB) is decompressed twice, by decompress_request_body and BaseResponse.setup_class: "
                 "500 gzip.BadGzipFile",
    apply=_decompress_once,
    kind="fix",
)

PATCHES = (GZIP_DECOMPRESSED_ONCE, MODULE_LISTING_CACHE, FLASK_DEBUG_OFF, LOCK_FREE_BACKEND_LOOKUP, PURE_HELPER_CACHE,
           ATTRIBUTE_ALIAS_CACHE, JSON_REQUESTS_WITHOUT_WERKZEUG, STUBBER_ROUTE_CACHE)
