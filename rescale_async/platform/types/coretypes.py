"""Hardware: coretypes (with the core counts each allows) and their compute prices."""

from __future__ import annotations

from decimal import Decimal

from ..._core.models import APIModel

__all__ = ["ComputePrice", "CoreType", "Money"]


class CoreType(APIModel):
    """A hardware type (``GET coretypes/``); ``cores`` are the ``coresPerSlot`` it allows."""

    code: str
    name: str | None = None
    cores: list[int] | None = None
    memory: float | None = None
    """Memory per core, MB."""
    storage: float | None = None
    processor_info: str | None = None
    category_codes: list[str] | None = None
    price: Decimal | None = None
    low_priority_price: Decimal | None = None
    is_active: bool | None = None
    display_order: int | None = None

    def allows(self, cores_per_slot: int) -> bool:
        """Whether a slot of ``cores_per_slot`` cores is offered (any count when the coretype
        lists none).
        """
        return not self.cores or cores_per_slot in self.cores


class Money(APIModel):
    """An amount (a decimal string on the wire) and its currency, when given."""

    amount: Decimal | None = None
    currency: str | None = None


class ComputePrice(APIModel):
    """One price of ``GET billing/computeprices/``: a coretype on a plan (on-demand, low
    priority...) and an OS, per core-hour.
    """

    core_type: str
    plan_type: str | None = None
    os: str | None = None
    is_active: bool | None = None
    value: Money | None = None

    @property
    def amount(self) -> Decimal | None:
        """The price, when given."""
        return None if self.value is None else self.value.amount
