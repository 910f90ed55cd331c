"""Which ES contract to trade, and when IB says it trades: plain functions over IB's contract details.

The front month is the nearest contract that is not inside the roll window (``roll_days`` calendar
days before its expiry). The expiry is the one IB gives (``realExpirationDate``, else
``lastTradeDateOrContractMonth``): ES normally expires on the third Friday of March, June, September
and December, but the broker's date is the one that counts, holidays included; only a bare
``YYYYMM`` falls back to the third Friday.

IB's ``tradingHours`` / ``liquidHours`` strings come in two shapes, both read here:
``20240102:1700-20240103:1600;20240104:CLOSED`` (sessions that cross midnight, current) and
``20090507:0700-1830,1830-2330;20090508:CLOSED`` (older, same-day ranges), in the contract's time zone.
"""

from __future__ import annotations

import calendar as cal
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


class ContractError(ValueError):
    """IB's contract data cannot be used to pick or schedule a contract."""


@dataclass(frozen=True)
class FutureContract:
    con_id: int
    symbol: str
    local_symbol: str
    expiry: date
    exchange: str = "CME"
    currency: str = "USD"
    multiplier: str = "50"
    trading_class: str = "ES"
    time_zone: str = "US/Central"
    trading_hours: str = ""
    liquid_hours: str = ""
    last_trade_date: str = ""  # as IB sent it (YYYYMMDD), for the order's contract


def expiry_of(real_expiration: str, last_trade: str) -> date:
    """The contract's expiry from IB's fields (see the module docstring)."""
    for raw in (real_expiration, last_trade):
        text = (raw or "").strip().split(" ")[0]
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    text = (last_trade or "").strip()
    if len(text) == 6 and text.isdigit():
        return third_friday(int(text[:4]), int(text[4:]))
    raise ContractError(f"no usable expiry in realExpirationDate={real_expiration!r}, "
                        f"lastTradeDateOrContractMonth={last_trade!r}")


def from_details(details) -> FutureContract:
    """A ``FutureContract`` from the client's ``ContractDetails``."""
    c = details.contract
    return FutureContract(
        con_id=int(c.conId), symbol=c.symbol, local_symbol=c.localSymbol,
        expiry=expiry_of(getattr(details, "realExpirationDate", ""), c.lastTradeDateOrContractMonth),
        exchange=c.exchange or "CME", currency=c.currency or "USD", multiplier=c.multiplier or "50",
        trading_class=c.tradingClass or c.symbol, time_zone=details.timeZoneId or "US/Central",
        trading_hours=details.tradingHours or "", liquid_hours=details.liquidHours or "",
        last_trade_date=c.lastTradeDateOrContractMonth)


def to_ib(contract: FutureContract, lib):
    """The client's ``Future`` for orders and data, fully specified by its conId."""
    return lib.Future(conId=contract.con_id, symbol=contract.symbol, exchange=contract.exchange,
                      currency=contract.currency, localSymbol=contract.local_symbol,
                      lastTradeDateOrContractMonth=contract.last_trade_date, multiplier=contract.multiplier,
                      tradingClass=contract.trading_class)


def third_friday(year: int, month: int) -> date:
    fridays = [week[cal.FRIDAY] for week in cal.monthcalendar(year, month) if week[cal.FRIDAY]]
    return date(year, month, fridays[2])


def front_month(contracts: list[FutureContract], today: date, *, roll_days: int = 8) -> FutureContract:
    """The nearest contract whose roll date (expiry minus ``roll_days``) is still ahead of ``today``."""
    live = sorted((c for c in contracts if c.expiry >= today), key=lambda c: c.expiry)
    for contract in live:
        if today < contract.expiry - timedelta(days=roll_days):
            return contract
    if live:
        raise ContractError(f"every listed contract is inside its {roll_days}-day roll window "
                            f"(nearest {live[0].local_symbol} expires {live[0].expiry})")
    raise ContractError("IB listed no unexpired contract")


def sessions(hours: str, time_zone: str) -> list[tuple[datetime, datetime]]:
    """IB's hours string as UTC (open, close) pairs, in order; closed days are left out."""
    tz = _zone(time_zone)
    out: list[tuple[datetime, datetime]] = []
    for day in filter(None, (part.strip() for part in hours.split(";"))):
        head, _, ranges = day.partition(":")
        if ranges.upper() == "CLOSED" or not ranges:
            continue
        for span in ranges.split(","):
            start_text, sep, end_text = span.partition("-")
            if not sep:
                raise ContractError(f"cannot read trading hours {span!r} in {day!r}")
            start = _moment(start_text, head, tz)
            end = _moment(end_text, head, tz)
            if end <= start:  # the older shape crossing midnight: "1700-1600" on one day
                end += timedelta(days=1)
            out.append((start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))))
    return sorted(out)


def _moment(text: str, default_day: str, tz: ZoneInfo) -> datetime:
    day, sep, clock = text.partition(":")
    if not sep:
        day, clock = default_day, text
    if len(day) != 8 or not day.isdigit() or len(clock) != 4 or not clock.isdigit():
        raise ContractError(f"cannot read trading-hours time {text!r}")
    return datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(clock[:2]), int(clock[2:]), tzinfo=tz)


def _zone(name: str) -> ZoneInfo:
    # IB sends zone names such as "US/Central" (still in the tz database) or "CST (Central Standard Time)".
    try:
        return ZoneInfo(name.split(" ")[0] if name else "US/Central")
    except (KeyError, ValueError):
        return ZoneInfo({"CST": "US/Central", "EST": "US/Eastern"}.get(name[:3], "US/Central"))


def disagreements(ib_sessions: list[tuple[datetime, datetime]], is_open, *, step_minutes: int = 30) -> list[str]:
    """Moments where IB's schedule and MIA's CME calendar (``is_open(ns)``) disagree, sampled every
    ``step_minutes`` inside and just outside each session; empty when they agree."""
    found: list[str] = []
    for start, end in ib_sessions:
        moment = start + timedelta(minutes=1)
        while moment < end:
            if not is_open(int(moment.timestamp() * 1e9)):
                found.append(f"IB says open at {moment:%Y-%m-%d %H:%M} UTC, the CME calendar says closed")
                break
            moment += timedelta(minutes=step_minutes)
    return found
