"""Fixtures for the AWS window: a moto server per test, the pinned cdk CLI cached once per session."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ACCOUNT = "123456789012"


@pytest.fixture(scope="session")
def tools_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pinned aws-cdk CLI is installed (once per run; ECOMCTL_TOOLS reuses a cache)."""
    return Path(os.environ.get("ECOMCTL_TOOLS") or tmp_path_factory.mktemp("tools"))


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A real moto server on 127.0.0.1, stopped after the test."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    url = f"http://127.0.0.1:{port}"
    # moto's backends are per process, not per server: start every test from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
    try:
        yield url
    finally:
        server.stop()


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",  # type: ignore[call-overload]
                        aws_access_key_id="testing", aws_secret_access_key="testing")
