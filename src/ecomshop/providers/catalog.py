"""The simulated world: which SKUs exist, which are out of stock, who is declined.

The README lists these so tests and game days are repeatable.
"""

from __future__ import annotations

import re

INITIAL_STOCK = 10_000
OUT_OF_STOCK = frozenset({"SKU-0013", "SKU-0404", "SKU-0666"})
DECLINED_CUSTOMERS = frozenset({"cust-declined", "cust-fraud"})
UNDELIVERABLE_COUNTRIES = frozenset({"AQ"})  # Antarctica: the shipping provider refuses
_SKU = re.compile(r"^SKU-(\d{4})$")


def known_sku(sku: str) -> bool:
    match = _SKU.match(sku)
    return bool(match) and 1 <= int(match.group(1)) <= 999  # type: ignore[union-attr]


def initial_stock(sku: str) -> int:
    return 0 if sku in OUT_OF_STOCK else INITIAL_STOCK
