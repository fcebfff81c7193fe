"""What the pack screen shows of the bench, as plain data read on the runtime thread.

The flow belongs to the runtime thread; the screen never reads it. The bridge takes a `BenchView`
right after each outcome, on that thread, and hands the copy to the UI with the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.i18n import N_
from app.pack.flow import PackFlow, State


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    scanned: int
    expected: int

    @property
    def complete(self) -> bool:
        return self.scanned >= self.expected


@dataclass(frozen=True)
class BenchView:
    state: str
    operator: str | None = None
    order_id: str | None = None
    platform: str = ""
    receiver: str = ""
    carrier: str = ""
    lines: tuple[Line, ...] = ()
    expected_weight_g: int | None = None
    shipped: bool = False  # the order shown is the one just labelled, kept on screen (see `shown`)
    short: bool = False  # that order's parcel left with items missing (a supervisor approved a short-ship)


def read_bench(flow: PackFlow) -> BenchView:
    """Copy what the screen needs; call on the thread that owns `flow`."""
    operator = flow.operator.name if flow.operator is not None else None
    header = flow.order_header()
    if header is None:
        return BenchView(flow.state.value, operator)
    return BenchView(
        flow.state.value, operator, header["order_id"], header["platform"], header["receiver"], header["carrier"],
        tuple(Line(*line) for line in flow.lines()),
        # Only while weighing: before that the figure is a partial parcel and reads like a target.
        flow.expected_weight_g() if flow.awaiting_weight else None,
        short=flow.open is not None and flow.open.short,
    )


_AFTER_SHIPPING = frozenset({State.LABELLED.value, State.DONE.value})


def shown(previous: BenchView | None, current: BenchView) -> BenchView:
    """The flow closes an order as soon as it is weighed, but the packer still wants to see what went
    into the parcel while the label prints: keep the last order on screen until the next one opens
    (or the order is aborted, or the packer logs out, which leave the flow idle)."""
    if current.order_id is None and current.state in _AFTER_SHIPPING and previous and previous.order_id:
        return replace(previous, state=current.state, operator=current.operator, shipped=True)
    return current


NEXT_STEPS = {
    State.ORDER_OPEN.value: N_("Next: scan the items"),
    State.ITEMS_COMPLETE.value: N_("Next: put the parcel on the scale"),
    State.LABELLED.value: N_("Next: wait for the label, then stick it on the parcel"),
    State.DONE.value: N_("Next: stick the label on the parcel, then scan the next order"),
    State.BLOCKED.value: N_("Next: a supervisor scans their badge (or fix the parcel)"),
}


def next_step(view: BenchView) -> str:
    """What the packer does next (a msgid), read from the flow's state rather than from the last message."""
    if view.operator is None:
        return N_("Next: scan your badge")
    if view.state == State.IDLE.value:
        return N_("Next: scan the next order") if view.shipped else N_("Next: scan an order")
    return NEXT_STEPS.get(view.state, N_("Next: scan an order"))
