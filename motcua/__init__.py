"""Một Cửa KPI: core library (database access, units, metrics, formatting, CLI).

Nothing in this package imports Streamlit; the dashboard only calls it.
"""

__version__ = "0.1.0"
