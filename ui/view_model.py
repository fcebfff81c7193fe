"""What the pack screen shows of the bench, as plain data read on the runtime thread.

The flow belongs to the runtime thread; the screen never reads it. The bridge takes a `BenchView`
right after each outcome, on that thread, and hands the copy to the UI with the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    )


_AFTER_SHIPPING = frozenset({State.LABELLED.value, State.DONE.value})


def shown(previous: BenchView | None, current: BenchView) -> BenchView:
    """The flow closes an order as soon as it is weighed, but the packer still wants to see what went
    into the parcel while the label prints: keep the last order on screen until the next one opens
    (or the order is aborted, or the packer logs out, which leave the flow idle)."""
    if current.order_id is None and current.state in _AFTER_SHIPPING and previous and previous.order_id:
        return replace(previous, state=current.state, operator=current.operator, shipped=True)
    return current
