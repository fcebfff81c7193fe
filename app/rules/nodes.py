"""The syntax tree of a condition: frozen dataclasses, each with its (line, column) in the condition."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

Pos = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal: number (int or float), string, bool, or duration (seconds, as float)."""

    kind: str  # number | string | bool | duration
    value: object
    pos: Pos


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Lit, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class Field:
    """A name (`now`, `lines`) or a field path (`order.receiver_phone`)."""

    path: tuple[str, ...]
    pos: Pos

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node
    pos: Pos


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * /
    left: Node
    right: Node
    pos: Pos


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >= in contains matches
    left: Node
    right: Node
    pos: Pos


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    pos: Pos


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # and | or
    left: Node
    right: Node
    pos: Pos


Node = Lit | ListLit | Field | Call | Neg | Arith | Compare | Not | BoolOp


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, ListLit):
        return node.items
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Neg | Not):
        return (node.operand,)
    if isinstance(node, Arith | Compare | BoolOp):
        return (node.left, node.right)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node, parents before children, without recursion (a tree may be deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def depth(node: Node) -> tuple[int, Pos]:
    """The tree's depth and the position of its deepest node, without recursion."""
    best, where = 0, node.pos
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        if level > best:
            best, where = level, current.pos
        stack.extend((child, level + 1) for child in children(current))
    return best, where
