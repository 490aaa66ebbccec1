"""`cost --refresh-prices`: the Price List API's answers (recorded shape) replace the table's figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ecomctl.aws import price_list, prices


def _product(usd: str) -> str:
    # The shape GetProducts returns (FormatVersion aws_v1): one JSON document per product, as a string.
    return json.dumps({"product": {"productFamily": "x", "attributes": {"regionCode": "eu-west-1"}, "sku": "SKU1"},
                       "terms": {"OnDemand": {"SKU1.T": {"priceDimensions": {
                           "SKU1.T.free": {"unit": "Hrs", "pricePerUnit": {"USD": "0.0000000000"}},
                           "SKU1.T.paid": {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}}}})


@pytest.fixture
def restore_prices():
    saved = {name: getattr(prices, name) for name in (*price_list.QUERIES, "SOURCE")}
    yield
    for name, value in saved.items():
        setattr(prices, name, value)


def test_found_prices_replace_the_table_and_the_rest_are_named(tmp_path: Path, restore_prices) -> None:
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    answers = {"KINESIS_SHARD_HOUR": [_product("0.0170000000")], "ALARM_MONTH": [_product("0.1000000000")],
               "DASHBOARD_MONTH": [], "KMS_KEY_MONTH": [_product("1.0000000000")], "SECRET_MONTH": []}
    with Stubber(client) as stub:
        for name, (service, attrs) in price_list.QUERIES.items():
            usagetype = "EU-" + attrs["usagetype"]
            stub.add_response("get_products", {"PriceList": answers[name], "FormatVersion": "aws_v1"}, {
                "ServiceCode": service, "FormatVersion": "aws_v1", "MaxResults": ANY,
                "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
                            {"Type": "TERM_MATCH", "Field": "usagetype", "Value": usagetype}]})
        result = price_list.fetch(client, "eu-west-1", datetime(2026, 12, 3, tzinfo=UTC))
    assert result.found == {"KINESIS_SHARD_HOUR": 0.017, "ALARM_MONTH": 0.1, "KMS_KEY_MONTH": 1.0}
    assert result.missing == ["DASHBOARD_MONTH", "SECRET_MONTH"]  # kept at the table's figure, and said so

    price_list.save(tmp_path, result)
    source = price_list.apply_cached(tmp_path)
    assert prices.KINESIS_SHARD_HOUR == 0.017 and prices.SECRET_MONTH == 0.40
    assert source is not None and "Price List API (eu-west-1, 2026-12-03T00:00:00Z)" in source


def test_a_region_without_a_known_usage_prefix_refreshes_nothing(restore_prices) -> None:
    result = price_list.fetch(object(), "me-central-1")  # no call is made
    assert result.found == {} and result.missing == list(price_list.QUERIES)


@pytest.mark.parametrize("text", ["not json", '{"found": {"KINESIS_SHARD_HOUR": "x"}}', "[]", '{"found": {}}'])
def test_a_damaged_cache_is_ignored(tmp_path: Path, restore_prices, text: str) -> None:
    price_list.cache_path(tmp_path).write_text(text)
    assert price_list.apply_cached(tmp_path) is None and prices.SOURCE == prices.BUILT_IN_SOURCE


def test_the_cli_without_credentials_says_so_in_one_line(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from ecomctl.cli import app

    env = {"ECOMCTL_HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "", "COLUMNS": "200"}
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(app, ["cost", "--refresh-prices"], env={k: v for k, v in env.items() if v})
    assert result.exit_code != 0 and "Price List API" in result.stderr and "Traceback" not in result.stderr
    assert not price_list.cache_path(tmp_path).exists()
