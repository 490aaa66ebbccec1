"""Aspects that hold for every resource of a window: deletable, and tagged for the sweeper."""

from __future__ import annotations

import jsii
from aws_cdk import Annotations, Aspects, CfnResource, IAspect, RemovalPolicy, TagManager, Tags
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

STAGE_TAG = "ecomctl:stage"
EXPIRES_TAG = "ecomctl:expires-at"


@jsii.implements(IAspect)
class DestroyOnDelete:
    """Every resource is deleted with the stack; a bucket must also empty itself first.

    An L2 default such as RETAIN on a table or a log group would outlive the window and
    keep costing money, so the policy is forced here rather than trusted per construct.
    """

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, CfnResource):
            node.apply_removal_policy(RemovalPolicy.DESTROY)
        elif isinstance(node, s3.Bucket) and node.node.try_find_child("AutoDeleteObjectsCustomResource") is None:
            Annotations.of(node).add_error(
                "bucket without auto_delete_objects=True: it cannot be deleted while it holds objects")


def apply_window(scope: Construct, stage: str, expires_at: str) -> None:
    """Tag every taggable resource with the window, and enforce deletability."""
    Tags.of(scope).add(STAGE_TAG, stage)
    Tags.of(scope).add(EXPIRES_TAG, expires_at)
    Aspects.of(scope).add(DestroyOnDelete())
    Aspects.of(scope).add(TagRawResources({STAGE_TAG: stage, EXPIRES_TAG: expires_at}))


# Taggable CloudFormation types that CDK internals create as raw CfnResources (the
# custom-resource provider behind auto-deleting buckets), which Tags.of() cannot reach.
_RAW_TAGGABLE = frozenset({"AWS::IAM::Role", "AWS::Lambda::Function"})


@jsii.implements(IAspect)
class TagRawResources:
    def __init__(self, tags: dict[str, str]) -> None:
        self.tags = tags

    def visit(self, node: IConstruct) -> None:
        if (isinstance(node, CfnResource) and node.cfn_resource_type in _RAW_TAGGABLE
                and not TagManager.is_taggable(node)):
            node.add_property_override("Tags", [{"Key": k, "Value": v} for k, v in self.tags.items()])
