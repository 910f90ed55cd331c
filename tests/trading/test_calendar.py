from datetime import UTC, datetime

import pytest

from trading.engine.calendar import CmeCalendar, to_ns


@pytest.fixture(scope="module")
def cal():
    return CmeCalendar(start="2024-01-01", end="2025-12-31")


def ns(text: str) -> int:
    return to_ns(datetime.fromisoformat(text).replace(tzinfo=UTC))


@pytest.mark.parametrize(("moment", "reason"), [
    ("2025-03-04T15:00:00", None),  # Tuesday 09:00 CT
    ("2025-03-04T22:30:00", "maintenance_break"),  # Tuesday 16:30 CT
    ("2025-03-08T15:00:00", "weekend"),  # Saturday
    ("2025-03-09T21:30:00", "weekend"),  # Sunday before the 17:00 CT open
    ("2025-03-09T22:30:00", None),  # Sunday 17:30 CT (CDT)
    ("2025-12-25T18:00:00", "holiday"),
])
def test_cme_calendar_knows_open_breaks_weekends_and_holidays(cal, moment, reason):
    assert cal.closed_reason(ns(moment)) == reason
    assert cal.is_open(ns(moment)) is (reason is None)


def test_next_open_after_the_friday_close_is_sunday_evening(cal):
    opened = cal.next_open(ns("2025-03-07T22:00:00"))  # Friday 16:00 CT
    assert opened == ns("2025-03-09T22:00:00")  # Sunday 17:00 CDT
