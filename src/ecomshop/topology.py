"""The platform's topology: the single source of truth for every resource.

Both renderers read this module and nothing else: the CDK app (infra/) turns it into
CloudFormation, the local target (ecomctl.local) creates the same resources on moto.
No other module hard-codes a resource name; handlers find theirs in environment
variables whose values are the references declared here.

References are strings ``kind:logical`` (``table:orders``, ``queue:payment``) with an
optional attribute (``queue:payment:url``, ``function:validate:arn``). ``stage`` and
``ssm_prefix`` are plain values, and ``value:<text>`` is the text itself (settings such
as the breaker's thresholds). Each renderer resolves them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SAGA_DEFINITION = Path(__file__).parent / "saga" / "order_saga.asl.json"
EVENT_SOURCE = "ecomshop.orders"
# Detail types on the bus: one for a new order, one for every later transition.
ORDER_PLACED = "Order Placed"
ORDER_STATUS_CHANGED = "Order Status Changed"
# Transitions a customer sees (the notifier sends an SNS message for each).
CUSTOMER_VISIBLE = ("PAID", "SHIPPED", "COMPLETED", "CANCELLED")

# Lambda rejects an SQS event source whose queue visibility timeout is shorter than the
# function timeout; AWS recommends six times it (Lambda guide, "SQS event source").
VISIBILITY_FACTOR = 6


@dataclass(frozen=True)
class Table:
    logical: str
    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None
    point_in_time_recovery: bool = False


@dataclass(frozen=True)
class Grant:
    """What a function may do to one resource: the renderers turn this into IAM."""

    ref: str  # "table:orders", "queue:payment", "bus:orders", ...
    access: str  # "read", "write", "read_write", "send", "consume", "publish", "put", "start", "task"


@dataclass(frozen=True)
class Function:
    logical: str
    handler: str  # "module.path.function" inside the ecomshop package
    timeout_s: int
    memory_mb: int = 256
    # "api", "queue:<logical>", "saga" (invoked by the state machine), "custom-resource" (by CloudFormation)
    trigger: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()
    reserved_concurrency: int | None = None
    description: str = ""


@dataclass(frozen=True)
class Queue:
    logical: str
    max_receive_count: int = 3
    visibility_timeout_s: int = 60
    batch_size: int = 10
    batching_window_s: int = 0
    retention_days: int = 4
    # The event source's MaximumConcurrency: bounds the consumer's concurrency (and its bill)
    # under a runaway backlog without reserving account concurrency, which a new account lacks.
    max_concurrency: int = 10


@dataclass(frozen=True)
class Rule:
    logical: str
    pattern: dict[str, object]
    target: str  # "queue:<logical>"


@dataclass(frozen=True)
class Transition:
    storage_class: str  # S3 storage class names as the S3 API spells them
    after_days: int


@dataclass(frozen=True)
class Bucket:
    logical: str
    prefix: str  # Firehose-style prefix with the partition keys
    error_prefix: str
    transitions: tuple[Transition, ...]
    expiration_days: int
    buffer_interval_s: int = 60
    buffer_size_mib: int = 5


@dataclass(frozen=True)
class Stream:
    logical: str
    shards: int = 1


@dataclass(frozen=True)
class StateMachine:
    logical: str
    definition_file: Path
    substitutions: dict[str, str]  # ${Name} in the ASL -> reference


@dataclass(frozen=True)
class Mail:
    """The notifications' second channel: SES e-mail from ``sender`` to ``<customerId>@<recipient_domain>``.

    Orders carry no address, so the recipient is derived from the customer id in a domain the
    stage names (a sandbox account can deliver only to verified recipients: see the notifier).
    """

    logical: str
    sender: str
    recipient_domain: str


@dataclass(frozen=True)
class PartnerRegistration:
    """This deployment's registration with the shipping partner: a custom resource on both targets.

    The renderers send ``properties`` as the CloudFormation ResourceProperties; the API key is
    in the secret, never in them (the handler reads it at run time by ARN).
    """

    logical: str
    function: str  # the custom resource's handler
    secret: str  # the secret holding the partner API key, generated per stack
    account: str  # the partner account this deployment registers in (its identity)
    callback_path: str = "/shipping/tracking"  # under the order API, for the carrier's tracking updates
    contract_version: str = "auto"  # "auto": the version the partner speaks, if the adapter knows it
    services: tuple[str, ...] = ("standard", "express")
    resource_type: str = "Custom::PartnerRegistration"

    def properties(self, secret_arn: str, callback_url: str) -> dict[str, object]:
        return {"Account": self.account, "ApiKeySecretArn": secret_arn, "CallbackUrl": callback_url,
                "ContractVersion": self.contract_version, "Services": list(self.services)}


@dataclass(frozen=True)
class Topology:
    stage: str
    bus: str
    tables: tuple[Table, ...]
    queues: tuple[Queue, ...]
    rules: tuple[Rule, ...]
    functions: tuple[Function, ...]
    topics: tuple[str, ...]
    stream: Stream
    lake: Bucket
    saga: StateMachine
    ssm_prefix: str
    api_function: str
    secrets: tuple[str, ...] = ()
    partner: PartnerRegistration | None = None
    mail: Mail | None = None
    # The order API's authorization: "iam" (AWS_IAM, SigV4-signed callers) on AWS, so a
    # deployed window is not open to the internet; the local target enforces it on request.
    api_auth: str = "iam"

    def name(self, logical: str) -> str:
        """Physical name of a resource: one place decides the naming scheme."""
        return physical_name(self.stage, logical)

    def dlq(self, queue: str) -> str:
        return f"{queue}-dlq"

    def function(self, logical: str) -> Function:
        return next(f for f in self.functions if f.logical == logical)

    def queue(self, logical: str) -> Queue:
        return next(q for q in self.queues if q.logical == logical)

    def consumer_of(self, queue: str) -> Function | None:
        return next((f for f in self.functions if f.trigger == f"queue:{queue}"), None)


def physical_name(stage: str, logical: str) -> str:
    return f"ecom-{stage}-{logical}"


_ORDERS = Grant("table:orders", "read_write")
_BUS = Grant("bus:orders", "put")
_PROVIDERS = Grant("table:providers", "read_write")
_FLAGS = Grant("ssm_prefix", "read")
_TASK = Grant("statemachine:saga", "task")

# Every handler sees the same variable names with the same values, so one process can
# host them all (the local target does); a function gets only the ones it needs.
_BASE_ENV = {"ECOMSHOP_STAGE": "stage", "ORDERS_TABLE": "table:orders", "EVENT_BUS_NAME": "bus:orders"}
_PROVIDER_ENV = {"PROVIDERS_TABLE": "table:providers", "CHAOS_SSM_PREFIX": "ssm_prefix"}


def _fn(
    logical: str,
    handler: str,
    timeout_s: int,
    trigger: str | None,
    grants: tuple[Grant, ...],
    env: dict[str, str] | None = None,
    **kw: object,
) -> Function:
    environment = {**_BASE_ENV, **(env or {})}
    return Function(
        logical=logical,
        handler=f"ecomshop.handlers.{handler}",
        timeout_s=timeout_s,
        trigger=trigger,
        environment=environment,
        grants=grants,
        **kw,  # type: ignore[arg-type]
    )


def _functions() -> tuple[Function, ...]:
    return (
        _fn(
            "api", "api.handler", 10, "api",
            (_ORDERS, _BUS, Grant("table:idempotency", "read_write")),
            {"IDEMPOTENCY_TABLE": "table:idempotency"},
            memory_mb=512, description="Order API: POST /orders, GET /orders/{orderId}",
        ),
        _fn(
            "saga-starter", "saga_starter.handler", 10, "queue:saga-start",
            (_ORDERS, Grant("statemachine:saga", "start")),
            {"SAGA_STATE_MACHINE_ARN": "statemachine:saga:arn"},
            description="Starts one saga execution per order, named by the order id",
        ),
        _fn("validate", "saga_steps.validate", 10, "saga", (_ORDERS, _BUS), description="Saga: validate"),
        _fn("complete", "saga_steps.complete", 10, "saga", (_ORDERS, _BUS), description="Saga: complete"),
        _fn(
            "release-inventory", "saga_steps.release_inventory", 10, "saga",
            (_ORDERS, _BUS, _PROVIDERS, _FLAGS), _PROVIDER_ENV, description="Saga compensation: release",
        ),
        _fn(
            "refund-payment", "saga_steps.refund_payment", 10, "saga",
            (_ORDERS, _BUS, _PROVIDERS, _FLAGS), _PROVIDER_ENV, description="Saga compensation: refund",
        ),
        _fn("cancel-order", "saga_steps.cancel_order", 10, "saga", (_ORDERS, _BUS), description="Saga: cancel"),
        _fn(
            "inventory", "inventory.handler", 10, "queue:inventory",
            (_ORDERS, _BUS, _PROVIDERS, _FLAGS, _TASK, Grant("table:breakers", "read_write")),
            {**_PROVIDER_ENV, "BREAKER_TABLE": "table:breakers",
             "BREAKER_FAILURE_THRESHOLD": "value:5", "BREAKER_RESET_TIMEOUT_S": "value:10"},
            reserved_concurrency=5, description="Reserves stock behind a circuit breaker",
        ),
        _fn(
            "payment", "payment.handler", 15, "queue:payment",
            (_ORDERS, _BUS, _PROVIDERS, _FLAGS, _TASK, Grant("table:idempotency", "read_write")),
            {**_PROVIDER_ENV, "IDEMPOTENCY_TABLE": "table:idempotency"},
            reserved_concurrency=5, description="Charges once per order, retrying with jitter",
        ),
        _fn(
            "shipping", "shipping.handler", 10, "queue:shipping",
            (_ORDERS, _BUS, _PROVIDERS, _FLAGS, _TASK, Grant("queue:shipping-dlq", "send")),
            {**_PROVIDER_ENV, "SHIPPING_DLQ_URL": "queue:shipping-dlq:url"},
            description="Books shipments through a tolerant v1/v2 adapter",
        ),
        _fn(
            "notifier", "notifier.handler", 10, "queue:notify",
            (Grant("topic:notifications", "publish"), Grant("mail:notifications", "send")),
            {"NOTIFY_TOPIC_ARN": "topic:notifications:arn", "NOTIFY_MAIL_FROM": "mail:notifications",
             "NOTIFY_MAIL_DOMAIN": "mail:notifications:domain"},
            description="One SNS message and one e-mail per customer-visible transition",
        ),
        _fn(
            "analytics", "analytics.handler", 10, "queue:analytics",
            (Grant("stream:analytics", "write"),),
            {"ANALYTICS_STREAM": "stream:analytics"},
            description="Forwards every order event to the analytics stream",
        ),
        _fn(
            "partner-registration", "partner_registration.handler", 120, "custom-resource",
            (_PROVIDERS, _FLAGS, Grant("secret:partner-api-key", "read")), _PROVIDER_ENV,
            description="Custom resource: registers the deployment with the shipping partner",
        ),
    )


def _queues(functions: tuple[Function, ...]) -> tuple[Queue, ...]:
    by_trigger = {f.trigger: f for f in functions}
    # Task queues hold the saga's task tokens while a provider is down: more receives
    # before a message is dead-lettered, so a short outage never parks an order.
    receives = {"payment": 8, "inventory": 5, "shipping": 5}
    queues = []
    for logical in ("saga-start", "inventory", "payment", "shipping", "notify", "analytics"):
        consumer = by_trigger[f"queue:{logical}"]
        queues.append(
            Queue(
                logical=logical,
                max_receive_count=receives.get(logical, 3),
                visibility_timeout_s=VISIBILITY_FACTOR * consumer.timeout_s,
                batch_size=10,
                batching_window_s=0 if logical != "analytics" else 1,
            )
        )
    return tuple(queues)


@cache
def build_topology(stage: str = "dev") -> Topology:
    functions = _functions()
    return Topology(
        stage=stage,
        bus="orders",
        tables=(
            Table("orders", partition_key="orderId", point_in_time_recovery=True),
            Table("idempotency", partition_key="id", ttl_attribute="expiration"),
            Table("breakers", partition_key="provider"),
            # The simulated providers' own ledger (stock, reservations, charges, shipments):
            # single-table design, keys like STOCK#SKU-0001 / CHARGE#<order>.
            Table("providers", partition_key="pk", sort_key="sk"),
        ),
        queues=_queues(functions),
        rules=(
            Rule(
                "saga-start",
                {"source": [EVENT_SOURCE], "detail-type": [ORDER_PLACED]},
                "queue:saga-start",
            ),
            Rule(
                "notify",
                {
                    "source": [EVENT_SOURCE],
                    "detail-type": [ORDER_STATUS_CHANGED],
                    "detail": {"status": list(CUSTOMER_VISIBLE)},
                },
                "queue:notify",
            ),
            Rule("analytics", {"source": [EVENT_SOURCE]}, "queue:analytics"),
        ),
        functions=functions,
        topics=("notifications",),
        stream=Stream("analytics", shards=1),
        lake=Bucket(
            logical="lake",
            prefix=(
                "orders/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
                "day=!{timestamp:dd}/hour=!{timestamp:HH}/"
            ),
            error_prefix="errors/!{firehose:error-output-type}/",
            transitions=(
                Transition("INTELLIGENT_TIERING", 30),
                Transition("GLACIER", 90),
                Transition("DEEP_ARCHIVE", 365),
            ),
            expiration_days=7 * 365,
        ),
        saga=StateMachine(
            logical="order-saga",
            definition_file=SAGA_DEFINITION,
            substitutions={
                "ValidateFunctionArn": "function:validate:arn",
                "CompleteFunctionArn": "function:complete:arn",
                "ReleaseInventoryFunctionArn": "function:release-inventory:arn",
                "RefundPaymentFunctionArn": "function:refund-payment:arn",
                "CancelOrderFunctionArn": "function:cancel-order:arn",
                "InventoryQueueUrl": "queue:inventory:url",
                "PaymentQueueUrl": "queue:payment:url",
                "ShippingQueueUrl": "queue:shipping:url",
            },
        ),
        ssm_prefix=f"/ecomshop/{stage}/chaos",
        api_function="api",
        secrets=("partner-api-key",),
        mail=Mail("notifications", sender=f"orders@{stage}.ecomshop.example",
                  recipient_domain=f"customers.{stage}.ecomshop.example"),
        partner=PartnerRegistration(
            logical="partner-registration", function="partner-registration", secret="partner-api-key",
            account=physical_name(stage, "partner"),
        ),
    )
