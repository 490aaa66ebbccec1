"""`cost --refresh-prices`: the standing-charge prices read from the AWS Price List API.

The built-in table (``prices``) is the fallback and the default. With credentials that may
call ``pricing:GetProducts`` (the API answers in us-east-1 for every region), each standing
charge the meter uses is looked up for the window's region; what is found replaces the
table's figure and is kept in ``$ECOMCTL_HOME/prices.json`` with its date, so later commands
(``cost``, ``status``, ``windows``) use it too. What is not found keeps the table's figure
and is named, never silently priced at $0.

The filters follow the Price List's product attributes (``regionCode``, ``usagetype``);
they have been exercised here only against recorded answers, not against the live API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecomctl.aws import prices

# price name in ``prices`` -> (service code, product attribute filters)
QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "KINESIS_SHARD_HOUR": ("AmazonKinesis", {"usagetype": "Storage-ShardHour"}),
    "ALARM_MONTH": ("AmazonCloudWatch", {"usagetype": "CW:AlarmMonitorUsage"}),
    "DASHBOARD_MONTH": ("AmazonCloudWatch", {"usagetype": "DashboardsUsageHour-Basic"}),
    "KMS_KEY_MONTH": ("awskms", {"usagetype": "KMS-Keys"}),
    "SECRET_MONTH": ("AWSSecretsManager", {"usagetype": "AWSSecretsManager-Secrets"}),
}
_REGION_PREFIX = {"us-east-1": "", "us-east-2": "USE2-", "us-west-1": "USW1-", "us-west-2": "USW2-",
                  "eu-west-1": "EU-", "eu-central-1": "EUC1-", "eu-west-2": "EUW2-", "ap-southeast-1": "APS1-",
                  "ap-southeast-2": "APS2-", "ap-northeast-1": "APN1-", "ap-south-1": "APS3-"}


@dataclass
class Refresh:
    region: str
    found: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"region": self.region, "found": self.found, "missing": self.missing, "at": self.at}


def _on_demand_usd(item: str) -> float | None:
    """The first non-zero on-demand USD price of one PriceList entry (a JSON string)."""
    doc = json.loads(item)
    for term in (doc.get("terms") or {}).get("OnDemand", {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = float((dimension.get("pricePerUnit") or {}).get("USD") or 0)
            if usd > 0:
                return usd
    return None


def fetch(pricing: Any, region: str, now: datetime | None = None) -> Refresh:
    """Look each standing charge up; ``pricing`` is a client of the Price List API."""
    result = Refresh(region, at=(now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    prefix = _REGION_PREFIX.get(region)
    for name, (service, attributes) in QUERIES.items():
        if prefix is None:
            result.missing.append(name)
            continue
        filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
        filters += [{"Type": "TERM_MATCH", "Field": k, "Value": prefix + v if k == "usagetype" else v}
                    for k, v in attributes.items()]
        answer = pricing.get_products(ServiceCode=service, Filters=filters, FormatVersion="aws_v1", MaxResults=10)
        usd = next((p for p in map(_on_demand_usd, answer.get("PriceList") or []) if p), None)
        if usd is None:
            result.missing.append(name)
        else:
            # Dashboards are priced per dashboard-hour in the Price List; the table is per month.
            result.found[name] = usd * prices.HOURS_PER_MONTH if name == "DASHBOARD_MONTH" and usd < 0.1 else usd
    return result


def refresh(ctx: Any) -> Refresh:
    """Fetch with the operator's credentials, save, and use the result in this process."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ecomctl.aws.preflight import region_of
    from ecomctl.errors import PreconditionFailed
    from ecomctl.state import home

    region = region_of(ctx)
    # The Price List API answers in us-east-1 (and ap-south-1) for every region.
    pricing = ctx.session(region="us-east-1").client("pricing", region_name="us-east-1",
                                                     endpoint_url=ctx.endpoint_url)
    try:
        result = fetch(pricing, region)
    except (ClientError, BotoCoreError) as exc:
        raise PreconditionFailed(f"the Price List API refused or failed ({exc}); the built-in prices stay in use "
                                 "(it needs credentials allowed pricing:GetProducts)") from None
    save(home(), result)
    apply_cached(home())
    return result


def cache_path(home: Path) -> Path:
    return home / "prices.json"


def save(home: Path, refresh: Refresh) -> None:
    home.mkdir(parents=True, exist_ok=True)
    cache_path(home).write_text(json.dumps(refresh.to_json(), indent=1))


def apply_cached(home: Path) -> str | None:
    """Use the prices a refresh saved, if any and well-formed; returns the source it now names."""
    try:
        data = json.loads(cache_path(home).read_text())
        found = {str(k): float(v) for k, v in data["found"].items() if k in QUERIES}
        at, region = str(data["at"]), str(data["region"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not found:
        return None
    for name, usd in found.items():
        setattr(prices, name, usd)
    prices.SOURCE = (f"AWS Price List API ({region}, {at}) for {', '.join(sorted(found))}; "
                     f"the rest: {prices.BUILT_IN_SOURCE}")
    return prices.SOURCE
