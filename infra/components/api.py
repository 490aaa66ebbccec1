"""REST API: request validation, throttling, JSON access logs, X-Ray -> the order API Lambda."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..references import Registry
from .compute import LOG_RETENTION

THROTTLE_RATE_RPS = 100  # steady state; a 1000 rpm load test is ~17 rps
THROTTLE_BURST = 200

# Coarse gate at the edge (API Gateway speaks JSON Schema draft 4); the handler's pydantic
# model (ecomshop.model.OrderRequest) stays the full contract. A test keeps them in step.
ORDER_REQUEST_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="OrderRequest",
    type=apigw.JsonSchemaType.OBJECT,
    required=["customerId", "items"],
    properties={
        "customerId": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=128),
        "currency": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, pattern="^[A-Z]{3}$"),
        "shippingAddress": apigw.JsonSchema(type=apigw.JsonSchemaType.OBJECT),
        "items": apigw.JsonSchema(
            type=apigw.JsonSchemaType.ARRAY, min_items=1, max_items=50,
            items=apigw.JsonSchema(
                type=apigw.JsonSchemaType.OBJECT,
                required=["sku", "quantity", "unitPrice"],
                properties={
                    "sku": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=64),
                    "quantity": apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER, minimum=1, maximum=100),
                    "unitPrice": apigw.JsonSchema(type=apigw.JsonSchemaType.NUMBER, exclusive_minimum=True,
                                                  minimum=0),
                },
            ),
        ),
    },
)


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        access_logs = logs.LogGroup(self, "AccessLogs", log_group_name=f"/aws/apigateway/{topo.name('api')}",
                                    retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY)
        self.api = apigw.RestApi(
            self, "RestApi",
            rest_api_name=topo.name("api"),
            description="ecomshop order API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access and execution logs need the account-level CloudWatch role; it is created
            # (and destroyed) with the stack so a fresh account works.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name=topo.stage,
                tracing_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_RPS,
                throttling_burst_limit=THROTTLE_BURST,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                    resource_path=True, response_length=True, status=True, user=False,
                ),
            ),
        )
        validator = self.api.add_request_validator(
            "Validator", request_validator_name="body-and-params",
            validate_request_body=True, validate_request_parameters=True,
        )
        model = self.api.add_model("OrderRequestModel", content_type="application/json",
                                   model_name="OrderRequest", schema=ORDER_REQUEST_SCHEMA)
        integration = apigw.LambdaIntegration(registry.functions[topo.api_function])
        # AWS_IAM: only SigV4-signed callers with execute-api:Invoke (the operator's load and
        # chaos traffic sign with the operator's credentials: ecomctl.api_auth).
        auth = apigw.AuthorizationType.IAM if topo.api_auth == "iam" else apigw.AuthorizationType.NONE
        orders = self.api.root.add_resource("orders")
        orders.add_method(
            "POST", integration, request_validator=validator, authorization_type=auth,
            request_models={"application/json": model},
            request_parameters={"method.request.header.Idempotency-Key": False},
        )
        orders.add_resource("{orderId}").add_method(
            "GET", integration, request_validator=validator, authorization_type=auth,
            request_parameters={"method.request.path.orderId": True},
        )
