"""``--exclude-newer`` dates: ``YYYY-MM-DD`` or an RFC 3339 time, always as aware UTC.

The CLI flag and ``exclude-newer`` in ``[tool.ftlock]`` must mean the same instant for the
same text (a lock made from the command line and one made from the config are compared by
their header), so both read it here.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any


def parse_date(value: Any) -> _dt.datetime:
    """A TOML date/datetime or an ISO string, as an aware UTC datetime.  Raises
    :class:`ValueError` with the sentence to show (each caller words where it came from)."""
    if isinstance(value, _dt.datetime):
        parsed = value
    elif isinstance(value, _dt.date):
        parsed = _dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                parsed = _dt.datetime.strptime(text, "%Y-%m-%d")
            else:
                parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD or an RFC 3339 time)") from None
    else:
        raise ValueError("expected a date (YYYY-MM-DD) or an RFC 3339 time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    try:  # 9999-12-31T23:00-05:00 is year 10000 in UTC: no date Python can hold
        return parsed.astimezone(_dt.timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError(f"{value!r} is outside the years 1-9999 in UTC") from None
