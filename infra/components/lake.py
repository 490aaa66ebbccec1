"""Kinesis -> Firehose -> S3 data lake (partitioned, tiered, 7-year expiry) + Glue catalog."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..references import Registry
from .compute import LOG_RETENTION

STORAGE_CLASSES = {
    "STANDARD_IA": s3.StorageClass.INFREQUENT_ACCESS,
    "ONEZONE_IA": s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS,
    "INTELLIGENT_TIERING": s3.StorageClass.INTELLIGENT_TIERING,
    "GLACIER_IR": s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    "GLACIER": s3.StorageClass.GLACIER,
    "DEEP_ARCHIVE": s3.StorageClass.DEEP_ARCHIVE,
}
LIFECYCLE_RULE_ID = "tier-archive-expire"  # the same id the local target uses


def _data_prefix(prefix: str) -> str:
    """`orders/year=!{...}/...` -> `orders/`: the static part the crawler reads."""
    head = prefix.split("!{")[0]
    return head[: head.rfind("/") + 1]


class Lake(Construct):
    def __init__(self, scope: Construct, construct_id: str, registry: Registry) -> None:
        super().__init__(scope, construct_id)
        topo = registry.topology
        lake = topo.lake
        self.stream = kinesis.Stream(
            self, "Stream", stream_name=topo.name(topo.stream.logical),
            shard_count=topo.stream.shards, stream_mode=kinesis.StreamMode.PROVISIONED,
            encryption=kinesis.StreamEncryption.MANAGED, retention_period=Duration.hours(24),
            removal_policy=RemovalPolicy.DESTROY,
        )
        registry.streams[topo.stream.logical] = self.stream

        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(30))],
            removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True,
        )
        self.bucket = s3.Bucket(
            self, "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs, server_access_logs_prefix="lake/",
            lifecycle_rules=[s3.LifecycleRule(
                id=LIFECYCLE_RULE_ID,
                transitions=[s3.Transition(storage_class=STORAGE_CLASSES[t.storage_class],
                                           transition_after=Duration.days(t.after_days))
                             for t in lake.transitions],
                expiration=Duration.days(lake.expiration_days),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )],
            removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True,
        )

        firehose_logs = logs.LogGroup(
            self, "FirehoseLogs", log_group_name=f"/aws/kinesisfirehose/{topo.name('lake')}",
            retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY,
        )
        self.delivery = firehose.DeliveryStream(
            self, "Firehose",
            delivery_stream_name=topo.name(f"{lake.logical}-delivery"),
            source=firehose.KinesisStreamSource(self.stream),
            destination=firehose.S3Bucket(
                self.bucket,
                data_output_prefix=lake.prefix,
                error_output_prefix=lake.error_prefix,
                buffering_interval=Duration.seconds(lake.buffer_interval_s),
                buffering_size=Size.mebibytes(lake.buffer_size_mib),
                compression=firehose.Compression.GZIP,
                logging_config=firehose.EnableLogging(firehose_logs),
            ),
        )

        stack = Stack.of(self)
        # The Firehose L2 adds a region -> CIDR mapping for VPC/Redshift destinations; an S3
        # destination never reads it, and the unused mapping is a cfn-lint warning (W7001).
        stack.node.try_remove_child("@aws-cdk--aws-kinesisfirehose.CidrBlocks")
        self.database_name = db_name = topo.name(lake.logical).replace("-", "_")
        self.database = glue.CfnDatabase(
            self, "Database", catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=db_name, description=f"ecomshop {topo.stage} order-event lake"),
        )
        data_prefix = _data_prefix(lake.prefix)
        crawler_role = iam.Role(self, "CrawlerRole", assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                                description="Glue crawler over the order-event lake (read-only on the data)")
        self.bucket.grant_read(crawler_role, f"{data_prefix}*")

        def glue_arn(resource: str, name: str | None = None) -> str:
            return stack.format_arn(service="glue", resource=resource, resource_name=name,
                                    arn_format=ArnFormat.SLASH_RESOURCE_NAME if name else ArnFormat.NO_RESOURCE_NAME)

        # Catalog writes limited to this database and its tables.
        crawler_role.add_to_policy(iam.PolicyStatement(
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
                     "glue:UpdateTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition",
                     "glue:CreatePartition", "glue:BatchCreatePartition", "glue:UpdatePartition",
                     "glue:BatchUpdatePartition", "glue:DeleteTable", "glue:BatchDeletePartition"],
            resources=[glue_arn("catalog"), glue_arn("database", db_name), glue_arn("table", f"{db_name}/*")],
        ))
        crawler_role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[stack.format_arn(service="logs", resource="log-group", resource_name="/aws-glue/crawlers:*",
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))
        self.crawler = glue.CfnCrawler(
            self, "Crawler",
            name=topo.name(f"{lake.logical}-crawler"),
            role=crawler_role.role_arn,
            database_name=self.database.ref,  # Ref of a Glue database is its name
            description="Catalogs the partitioned order events (run on demand: ecomctl or the console)",
            targets=glue.CfnCrawler.TargetsProperty(s3_targets=[
                glue.CfnCrawler.S3TargetProperty(path=f"s3://{self.bucket.bucket_name}/{data_prefix}")]),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior="UPDATE_IN_DATABASE", delete_behavior="DELETE_FROM_DATABASE"),
        )
