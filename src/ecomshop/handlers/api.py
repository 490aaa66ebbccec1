"""Order API: ``POST /orders`` and ``GET /orders/{orderId}`` behind API Gateway (REST proxy).

Thin by design: route, read and refuse input (``ecomshop.api_errors``), call the order
store, map outcomes to HTTP. Creation with an ``Idempotency-Key`` header runs through
Powertools ``idempotent_function`` keyed on that header and validated on the parsed body,
so a retry returns the first answer and a reused key with another body is refused.
Only the create logic is idempotent; GETs never touch the idempotency table.

The local target runs many handlers on threads in one process, so nothing here keeps
per-request state on a shared object: each thread has its own resolver, and log keys
are appended with ``thread_safe_append_keys``.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyValidationError,
)
from pydantic import ValidationError

from ecomshop import api_errors
from ecomshop.api_errors import ApiError
from ecomshop.config import client, env
from ecomshop.model import OrderRequest
from ecomshop.observability import MetricUnit, logger, metrics, tracer
from ecomshop.orders import store

IDEMPOTENCY_TTL_S = 24 * 3600
IDEMPOTENCY_KEY_PREFIX = "ecomshop.api.create_order"
# Order ids are ours ("ord-" + hex); anything else cannot exist, so it is not looked up
# (and an oversized key never reaches DynamoDB as a ValidationException).
_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Known paths and their methods, for 405 versus 404.
_ROUTES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"/orders"), ("POST",)),
    (re.compile(r"/orders/[^/]+"), ("GET",)),
)


# --- order creation (the only idempotent part) -----------------------------------------


def _place(*, submission: dict[str, Any], request: OrderRequest) -> dict[str, Any]:
    """Write the order PENDING and put "Order Placed" on the bus; the answer to return."""
    order = store.create(request, submission.get("idempotencyKey"))
    metrics.add_metric(name="OrdersPlaced", unit=MetricUnit.Count, value=1)
    logger.info("order placed", extra={"order_id": order["orderId"], "items": len(request.items)})
    return {"orderId": order["orderId"], "status": order["status"]}


@lru_cache(maxsize=8)
def _idempotent_place(table_name: str, dynamodb: Any) -> tuple[Callable[..., dict[str, Any]], IdempotencyConfig]:
    """Built on first use per (table, client): ``reset_clients()`` gives a new client, so a
    new persistence layer, and tests that switch environments get fresh ones."""
    config = IdempotencyConfig(
        event_key_jmespath="idempotencyKey",
        payload_validation_jmespath="order",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_TTL_S,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb)
    wrapped = idempotent_function(
        _place,
        data_keyword_argument="submission",
        persistence_store=persistence,
        config=config,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    return wrapped, config


# A deliberately weakened platform for the chaos tests (the hypothesis must be able to
# fail): with this set to 1 the Idempotency-Key is stored but not enforced. Never in production.
WEAKENED_NO_IDEMPOTENCY = "ECOMSHOP_WEAKENED_NO_IDEMPOTENCY"


def create_order(request: OrderRequest, key: str | None, context: Any) -> dict[str, Any]:
    if key is None:
        return _place(submission={}, request=request)
    if os.environ.get(WEAKENED_NO_IDEMPOTENCY) == "1":
        return _place(submission={"idempotencyKey": key}, request=request)
    place, config = _idempotent_place(env("IDEMPOTENCY_TABLE"), client("dynamodb"))
    config.register_lambda_context(context)  # an INPROGRESS record expires with this invocation
    # The validated order, not the raw text: whitespace or key order do not make a retry "different".
    submission = {"idempotencyKey": key, "order": request.model_dump(mode="json")}
    try:
        return place(submission=submission, request=request)
    except IdempotencyValidationError as exc:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "Idempotency-Key was already used with a different request body; use a new key for a new order",
        ) from exc
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as exc:
        raise ApiError(
            HTTPStatus.CONFLICT,
            "a request with this Idempotency-Key is still in progress; retry shortly",
            headers={"Retry-After": "1"},
        ) from exc


# --- HTTP ----------------------------------------------------------------------------------


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body, headers=headers)


def post_orders(event: APIGatewayProxyEvent, context: Any) -> Response:
    headers = event.headers
    api_errors.require_json_content_type(headers.get("content-type"))
    key = api_errors.idempotency_key(headers.get("idempotency-key"))
    data = api_errors.parse_json(api_errors.body_text(event.body, bool(event.is_base64_encoded)))
    try:
        request = OrderRequest.model_validate(data)
    except ValidationError as exc:
        raise api_errors.invalid_order(exc) from exc
    answer = create_order(request, key, context)
    logger.thread_safe_append_keys(correlation_id=answer["orderId"])
    tracer.put_annotation("order_id", answer["orderId"])
    return _json(HTTPStatus.ACCEPTED, answer)


def get_order(order_id: str) -> Response:
    not_found = ApiError(HTTPStatus.NOT_FOUND, "order not found")
    if not _ORDER_ID.fullmatch(order_id):
        raise not_found
    logger.thread_safe_append_keys(correlation_id=order_id)
    tracer.put_annotation("order_id", order_id)
    try:
        order = store.get(order_id)
    except store.OrderNotFound:
        raise not_found from None
    return _json(HTTPStatus.OK, store.public_view(order))


def _unrouted(method: str, path: str) -> ApiError:
    for pattern, allowed in _ROUTES:
        if pattern.fullmatch(path):
            return ApiError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"method {method[:16]} not allowed here; allowed: {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
    return ApiError(HTTPStatus.NOT_FOUND, "no such route")


def _build_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()

    @app.post("/orders")
    def _post() -> Response:
        return post_orders(app.current_event, app.lambda_context)

    @app.get("/orders/<order_id>")
    def _get(order_id: str) -> Response:
        return get_order(order_id)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if exc.status >= 500:
            logger.error("API error", extra={"status": exc.status, "error": exc.message})
        return _json(exc.status, exc.body(), exc.headers)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        event = app.current_event
        error = _unrouted(event.http_method or "", event.path or "")
        return _json(error.status, error.body(), error.headers)

    @app.exception_handler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return _json(exc.status_code, {"error": exc.msg})

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unexpected error in the order API")
        return _internal_error()

    return app


_local = threading.local()


def _resolver() -> APIGatewayRestResolver:
    """One resolver per thread: a resolver keeps the current event on itself."""
    app: APIGatewayRestResolver | None = getattr(_local, "app", None)
    if app is None:
        app = _local.app = _build_resolver()
    return app


_INTERNAL_ERROR = {"error": "internal error; the request was logged"}


def _internal_error() -> Response:
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, dict(_INTERNAL_ERROR))


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_context = (event.get("requestContext") or {}) if isinstance(event, dict) else {}
    logger.thread_safe_append_keys(
        function_request_id=getattr(context, "aws_request_id", None),
        api_request_id=request_context.get("requestId"),
    )
    try:
        return _resolver().resolve(event, context)
    except Exception:  # the resolver's own handlers catch route errors; this is the last line
        logger.exception("order API failed outside a route")
        return {
            "statusCode": HTTPStatus.INTERNAL_SERVER_ERROR.value,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps(_INTERNAL_ERROR),
            "isBase64Encoded": False,
        }
    finally:
        logger.thread_safe_clear_keys()
