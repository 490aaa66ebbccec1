"""Aspects that hold for every resource of a window: deletable, and tagged for the sweeper."""

from __future__ import annotations

import jsii
from aws_cdk import Annotations, CfnResource, IAspect, RemovalPolicy, Tags
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
    from aws_cdk import Aspects

    Aspects.of(scope).add(DestroyOnDelete())
