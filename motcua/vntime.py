"""Vietnam time (Asia/Ho_Chi_Minh, UTC+7) for everything shown to users: report dates, footers, history.

The server usually runs on UTC; a report signed on the evening of 30/09 in Hà Nội must not say 01/10 or
29/09. Values are naive datetimes in Vietnam time, like every timestamp in the database.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> datetime:
    """Current Vietnam wall-clock time (naive)."""
    return datetime.now(TZ).replace(tzinfo=None)


def today() -> date:
    return now().date()
