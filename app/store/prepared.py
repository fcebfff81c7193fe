"""Scan-path queries with their SQL built once.

peewee builds a query's SQL text anew on every call: ~150–250 µs of Python against ~10 µs for
SQLite to run it (bench/README.md). The handful of statements every scan runs are built once here
(lazily: the database must be bound) and executed with new parameters; rows become model instances
exactly as peewee would make them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

_SENTINEL = "\x00prepared-param-{}"


class PreparedSelect:
    """`build(*params)` → a peewee SELECT; `first(*values)` runs its SQL with those values."""

    def __init__(self, model: Any, build: Callable[..., Any], arity: int) -> None:
        self.model, self._build, self._arity = model, build, arity
        self._sql: str | None = None
        self._slots: list[tuple[bool, Any]] = []
        self._fields: list[Any] | None = None

    def _prepare(self) -> str:
        sentinels = [_SENTINEL.format(k) for k in range(self._arity)]
        sql, params = self._build(*sentinels).sql()
        # Each bound value is an argument (by position) or a constant peewee put in (e.g. LIMIT 1).
        self._slots = [(True, sentinels.index(p)) if isinstance(p, str) and p in sentinels else (False, p)
                       for p in params]
        self._sql = str(sql)
        return self._sql

    def first(self, *values: Any) -> Any:
        sql = self._sql or self._prepare()
        params = tuple(values[v] if is_arg else v for is_arg, v in self._slots)
        cursor = self.model._meta.database.execute_sql(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        if self._fields is None:
            by_column = {f.column_name: f for f in self.model._meta.sorted_fields}
            self._fields = [by_column[d[0]] for d in cursor.description]
        obj = self.model(__no_default__=1)
        obj.__data__ = {f.name: f.python_value(v) for f, v in zip(self._fields, row, strict=True)}
        obj._dirty.clear()
        return obj


def execute(model: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    return model._meta.database.execute_sql(sql, tuple(params))
