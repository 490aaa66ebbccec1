"""Business outcomes a provider reports. Their class names become Step Functions error
names (SendTaskFailure ``error``), which the saga's Catch clauses route on."""

from __future__ import annotations


class BusinessError(Exception):
    """Not worth retrying: the saga compensates."""


class OutOfStock(BusinessError):
    pass


class UnknownSku(BusinessError):
    pass


class PaymentDeclined(BusinessError):
    pass


class ShippingRejected(BusinessError):
    pass


class InventoryUnavailable(Exception):
    """The inventory provider cannot be trusted right now (breaker open or inconsistent)."""


class InconsistentAnswer(Exception):
    """The provider's answer contradicts itself: counted as a failure by the breaker."""


class UnknownContract(Exception):
    """The shipping provider answered in a schema the adapter does not know."""
