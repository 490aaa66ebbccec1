"""List prices used by the cost meter: us-east-1, on-demand, in USD.

Source: the public pricing pages of each service (aws.amazon.com/<service>/pricing/),
read 2026-11; figures below are the us-east-1 on-demand list prices AWS has published
since 2024 (DynamoDB on-demand after its November 2024 cut). A month is 730 hours, as AWS
bills monthly items pro rata. Other regions are usually 0-30 % dearer: the meter says so
when it prices a window outside us-east-1 instead of pretending to know.
"""

from __future__ import annotations

BUILT_IN_SOURCE = "aws.amazon.com/<service>/pricing, us-east-1 on-demand list prices, read 2026-11"
SOURCE = BUILT_IN_SOURCE  # price_list.apply_cached names the Price List API for what it refreshed
REGION = "us-east-1"
HOURS_PER_MONTH = 730.0

# OpenSearch Service instance-hours (per node) by instance type.
OPENSEARCH_INSTANCE_HOUR = {
    "t3.small.search": 0.036, "t3.medium.search": 0.073,
    "m6g.large.search": 0.128, "m6g.xlarge.search": 0.256,
    "r6g.large.search": 0.167, "r6g.xlarge.search": 0.335,
    "m5.large.search": 0.142, "r5.large.search": 0.186, "c6g.large.search": 0.113,
    "or1.medium.search": 0.105, "or1.large.search": 0.209,
}
OPENSEARCH_EBS_GB_MONTH = {"gp3": 0.122, "gp2": 0.135, "standard": 0.067, "io1": 0.169}
KINESIS_SHARD_HOUR = 0.015
KINESIS_ON_DEMAND_STREAM_HOUR = 0.04
ALARM_MONTH = 0.10  # standard-resolution metric alarm
DASHBOARD_MONTH = 3.00  # beyond the 3 free ones: the meter counts every dashboard (conservative)
KMS_KEY_MONTH = 1.00
SECRET_MONTH = 0.40
DYNAMODB_RCU_HOUR = 0.00013  # provisioned capacity
DYNAMODB_WCU_HOUR = 0.00065

# Priced per request or per GB: nothing while idle, a bill that follows the traffic.
USAGE = {
    "AWS::Lambda::Function": "$0.20/M requests + $0.0000166667/GB-s",
    "AWS::ApiGateway::RestApi": "$3.50/M requests",
    "AWS::StepFunctions::StateMachine": "$0.025/1000 state transitions (standard)",
    "AWS::SQS::Queue": "$0.40/M requests",
    "AWS::SNS::Topic": "$0.50/M publishes",
    "AWS::Events::EventBus": "$1.00/M custom events",
    "AWS::Events::Archive": "$0.10/GB archived + $0.023/GB-month",
    "AWS::KinesisFirehose::DeliveryStream": "$0.029/GB ingested",
    "AWS::S3::Bucket": "$0.023/GB-month + requests",
    "AWS::Logs::LogGroup": "$0.50/GB ingested + $0.03/GB-month",
    "AWS::Glue::Crawler": "$0.44/DPU-hour while it runs",
    "AWS::Scheduler::Schedule": "$1.00/M invocations (14M free)",
    "AWS::DynamoDB::Table": "$0.625/M writes + $0.125/M reads (on-demand)",
    "AWS::DynamoDB::GlobalTable": "$0.625/M writes + $0.125/M reads (on-demand)",
    "AWS::XRay::SamplingRule": "$5.00/M traces recorded",
    "AWS::SES::EmailIdentity": "$0.10/1000 e-mails sent",
}

# No standing charge and no charge of their own (their traffic is billed where it lands).
FREE = frozenset({
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile",
    "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::SNS::Subscription",
    "AWS::Events::Rule", "AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::LayerVersion", "AWS::Lambda::Alias", "AWS::Lambda::Version",
    "AWS::ApiGateway::Resource", "AWS::ApiGateway::Method", "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage", "AWS::ApiGateway::Account", "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlanKey", "AWS::ApiGateway::GatewayResponse",
    "AWS::SSM::Parameter", "AWS::Glue::Database", "AWS::S3::BucketPolicy", "AWS::Logs::LogStream",
    "AWS::Logs::ResourcePolicy", "AWS::Logs::SubscriptionFilter", "AWS::Logs::MetricFilter",
    "AWS::CDK::Metadata", "AWS::KMS::Alias", "AWS::Scheduler::ScheduleGroup",
    "AWS::CloudFormation::WaitConditionHandle",
})
