"""The query point of the KPI engine and every SQL dialect difference, in one module.

Metric SQL is written once, in the DuckDB dialect, restricted to a portable subset (see
``metrics_sql``): no ordered list aggregates, no ``try_strptime``, no clock functions ("now" is a
parameter), positional ``?`` parameters only. Another engine runs the same text translated by SQLGlot
(``transpile``, cached per template: the SQL text carries no values, so one text = one template).

SQLGlot passes functions it does not know through unchanged and has translated some constructs silently
wrong (an ordered ``list(x ORDER BY x)`` lost its ORDER BY; ``current_localtimestamp()`` became a bare
column name). ``problems`` detects those known-bad outputs; ``transpile`` raises ``UnsupportedSQL`` on
them instead of running a query that would return different numbers, and a default-tier test runs every
metric template through it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import pandas as pd
import sqlglot
from sqlglot import exp

SOURCE_DIALECT = "duckdb"
DIALECTS = ("duckdb", "spark")


class UnsupportedSQL(ValueError):
    """The SQL uses a construct the target engine would run differently; the message names it."""


@runtime_checkable
class QueryEngine(Protocol):
    """What the KPI engine needs from a database engine (DuckDB file, DuckDB over a lake, Spark)."""

    dialect: str

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run a DuckDB-dialect query with positional ``?`` parameters; a fully fetched frame."""
        ...

    def explain(self, sql: str) -> str:
        """The statement this engine would run for ``sql`` (translated, not executed)."""
        ...


# Functions SQLGlot does not model but that exist with the same meaning in every supported dialect.
_PORTABLE_UNKNOWN_FUNCTIONS: frozenset[str] = frozenset()
# Names that must never reach another engine as a column: clock functions turned into bare identifiers.
_CLOCK_NAMES = {"current_localtimestamp", "localtimestamp", "current_timestamp", "now", "current_date",
                "today", "current_time"}
_CLOCK_EXPRESSIONS = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.Localtimestamp)


def _aggregate_orders(tree: exp.Expression) -> int:
    """ORDER BY clauses inside aggregate calls (``list(x ORDER BY x)``), not window or query ORDER BYs."""
    count = 0
    for order in tree.find_all(exp.Order):
        node = order.parent
        while node is not None and not isinstance(node, exp.Select | exp.Window | exp.AggFunc | exp.WithinGroup):
            node = node.parent
        count += isinstance(node, exp.AggFunc | exp.WithinGroup)
    return count


def problems(source_sql: str, target_sql: str, target: str) -> list[str]:
    """Known ways a DuckDB → ``target`` translation goes silently wrong; [] when none applies."""
    found: list[str] = []
    source = sqlglot.parse_one(source_sql, read=SOURCE_DIALECT)
    for function in source.find_all(exp.Anonymous):
        name = str(function.name).lower()
        if name not in _PORTABLE_UNKNOWN_FUNCTIONS:
            found.append(f"hàm '{name}' không được dịch sang {target} (SQLGlot để nguyên)")
    if any(True for _ in source.find_all(*_CLOCK_EXPRESSIONS)) or any(
            column.name.lower() in _CLOCK_NAMES for column in source.find_all(exp.Column)):
        found.append("dùng giờ hệ thống trong SQL; hãy truyền thời điểm 'now' thành tham số")
    if _aggregate_orders(source):
        found.append("hàm gộp có ORDER BY bên trong (thứ tự bị mất khi dịch); dùng row_number() … <= n")
    if source.find(exp.Slice) is not None:
        found.append("cắt danh sách [a:b] không dịch được; dùng row_number() … <= n")
    if target != SOURCE_DIALECT:
        translated = sqlglot.parse_one(target_sql, read=target)
        if any(column.name.lower() in _CLOCK_NAMES for column in translated.find_all(exp.Column)):
            found.append("một hàm thời gian thành tên cột sau khi dịch")
    return found


_PLACEHOLDER_RE = re.compile(r"\?")


@functools.lru_cache(maxsize=2048)
def transpile(sql: str, target: str) -> str:
    """``sql`` (DuckDB dialect) in the ``target`` dialect; cached per template text.

    Raises ``UnsupportedSQL`` for a construct in ``problems`` (checked for DuckDB too, so a non-portable
    template fails in the default test tier, not first on a cluster).
    """
    if target not in DIALECTS:
        raise UnsupportedSQL(f"Không hỗ trợ hệ SQL '{target}'; chỉ dùng: {', '.join(DIALECTS)}.")
    translated = sql if target == SOURCE_DIALECT else sqlglot.transpile(sql, read=SOURCE_DIALECT, write=target)[0]
    found = problems(sql, translated, target)
    if found:
        raise UnsupportedSQL(f"Câu SQL không chạy được như nhau trên {target}: {'; '.join(found)}.\nSQL: {sql}")
    if len(_PLACEHOLDER_RE.findall(translated)) != len(_PLACEHOLDER_RE.findall(sql)):
        raise UnsupportedSQL(f"Số tham số thay đổi khi dịch sang {target}.\nSQL: {sql}")
    return translated


class RecordingEngine:
    """Wraps an engine and keeps every statement it runs (tests, ``motcua kpi --explain``)."""

    def __init__(self, inner: QueryEngine):
        self.inner = inner
        self.dialect = inner.dialect
        self.statements: list[str] = []

    def query_df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        self.statements.append(sql)
        return self.inner.query_df(sql, params)

    def explain(self, sql: str) -> str:
        return self.inner.explain(sql)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)
