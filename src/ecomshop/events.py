"""Publishing order events on the bus.

PutEvents can accept a call yet reject an entry (FailedEntryCount): that counts as a
failure here and is retried, so a transition is never recorded without its event.
"""

from __future__ import annotations

import json
from typing import Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from ecomshop.config import client, settings
from ecomshop.topology import EVENT_SOURCE


class EventPublishError(RuntimeError):
    pass


@retry(
    retry=retry_if_exception_type(EventPublishError),
    stop=stop_after_attempt(4),
    wait=wait_random_exponential(multiplier=0.05, max=1),
    reraise=True,
)
def publish(detail_type: str, detail: dict[str, Any]) -> None:
    response = client("events").put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": settings().event_bus,
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise EventPublishError(f"bus rejected {detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
