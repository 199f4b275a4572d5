"""Derived tables rebuilt inside every write transaction, before the file is published."""

from __future__ import annotations


def refresh(con) -> None:
    """Rebuild derived tables from ``dossiers`` (owned by the KPI engine)."""
    con.execute("SELECT 1")
