"""Shared fixtures: the whole platform on moto in-process, no network."""

from __future__ import annotations

import os

# Set before anything imports boto3 or Powertools.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # A window of one cell unless a test asks for more (the default is one per core):
        # tests/local/test_cells.py runs two, and start-up is half as long with one.
        "ECOMCTL_LOCAL_CELLS": "1",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

pytest_plugins = ["tests.platform_harness"]
