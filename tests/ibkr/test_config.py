"""The IB adapter's plain parts: the paper/live rule, the front month, trading hours, pacing, the badge."""

from __future__ import annotations

import json
import time
from datetime import date
from types import SimpleNamespace

import pytest

from mia_site.redis import redis_client
from trading.adapters.ibkr import api
from trading.adapters.ibkr.config import IbConfig, IbConfigError, mask
from trading.adapters.ibkr.contracts import (
    ContractError,
    FutureContract,
    expiry_of,
    front_month,
    sessions,
    third_friday,
)
from trading.adapters.ibkr.pacing import HistoricalPacer
from trading.health import HEARTBEAT_KEY


def test_defaults_and_flags_override_the_environment():
    config = IbConfig.from_env({"MIA_IB_PORT": "7497", "MIA_IB_ACCOUNT": "DU1234567"}, port=4001, host=None)
    assert (config.host, config.port, config.client_id, config.mode) == ("127.0.0.1", 4001, 1, "paper")
    assert IbConfig.from_env({}).port == 4002
    with pytest.raises(IbConfigError, match="MIA_IB_PORT='x' is not an integer"):
        IbConfig.from_env({"MIA_IB_PORT": "x"})
    with pytest.raises(IbConfigError, match="MIA_TRADING_MODE"):
        IbConfig.from_env({"MIA_TRADING_MODE": "yolo"})


@pytest.mark.parametrize(("account", "mode", "refused"), [
    ("DU1234567", "paper", None),
    ("U7654321", "paper", "is a live account"),
    ("U7654321", "live", None),
    ("DU1234567", "live", "is a paper account"),
    ("", "paper", "MIA_IB_ACCOUNT is required"),
])
def test_paper_and_live_accounts_are_never_mixed_up(account, mode, refused):
    config = IbConfig(account=account, mode=mode)
    if refused is None:
        config.check_broker_account()
    else:
        with pytest.raises(IbConfigError, match=refused):
            config.check_broker_account()


def test_an_account_ib_does_not_manage_is_refused_and_ids_are_masked():
    with pytest.raises(IbConfigError, match="does not manage account DU\\*\\*\\*567"):
        IbConfig(account="DU1234567").check_broker_account(managed=["DU7777777"])
    assert mask("DU1234567") == "DU***567" and "1234567" not in repr(IbConfig(account="DU1234567"))


def _contract(code: str, expiry: date) -> FutureContract:
    return FutureContract(con_id=hash(code) % 10**6, symbol="ES", local_symbol=code, expiry=expiry)


def test_front_month_rolls_eight_days_before_the_brokers_expiry():
    dec, mar = _contract("ESZ6", date(2026, 12, 18)), _contract("ESH7", date(2027, 3, 19))
    assert front_month([mar, dec], date(2026, 12, 9)).local_symbol == "ESZ6"
    assert front_month([mar, dec], date(2026, 12, 10)).local_symbol == "ESH7"
    assert front_month([mar, dec], date(2026, 12, 12), roll_days=2).local_symbol == "ESZ6"
    with pytest.raises(ContractError, match="no unexpired"):
        front_month([dec], date(2027, 1, 5))


def test_expiry_is_ibs_date_and_only_a_bare_month_falls_back_to_the_third_friday():
    assert expiry_of("20260617", "20260618") == date(2026, 6, 17)  # IB's date wins (a holiday moved it)
    assert expiry_of("", "20261218") == date(2026, 12, 18)
    assert expiry_of("", "202703") == third_friday(2027, 3) == date(2027, 3, 19)
    with pytest.raises(ContractError):
        expiry_of("", "soon")


def test_trading_hours_in_both_of_ibs_formats_cross_midnight():
    current = sessions("20261201:1700-20261202:1600;20261205:CLOSED", "US/Central")
    assert [(a.isoformat(), b.isoformat()) for a, b in current] == [
        ("2026-12-01T23:00:00+00:00", "2026-12-02T22:00:00+00:00")]
    older = sessions("20090507:1700-1600;20090508:CLOSED", "CST (Central Standard Time)")
    assert older[0][1].hour == 21 and older[0][1].day == 8  # 16:00 CDT the next day


def test_historical_pacing_waits_for_identical_requests_and_the_ten_minute_window():
    now = [0.0]
    pacer = HistoricalPacer(clock=lambda: now[0])
    pacer.record("a")
    assert pacer.wait_for("a") == 15.0 and pacer.wait_for("b") == 0.0
    for k in range(59):
        pacer.record(k)
    now[0] = 20.0
    assert pacer.wait_for("c") == pytest.approx(580.0)
    now[0] = 600.0
    assert pacer.wait_for("c") == 0.0


def test_the_client_library_is_chosen_with_a_fallback(monkeypatch):
    assert api.lib("ib_insync").__name__ == "ib_insync"
    assert api.lib("ib_async").__name__ == "ib_async"
    monkeypatch.setenv("MIA_IB_API", "ib_async")
    assert api.lib().__name__ == "ib_async"
    with pytest.raises(ValueError, match="MIA_IB_API"):
        api.lib("ibapi")


def test_dashboard_badge_says_paper_or_live(real_redis, viewer_client):
    beat = {"at": time.time(), "feed": "ibkr", "broker": "ibkr", "simulated": False, "quarantined": 0,
            "last_price": 5000.0, "last_tick_wall": time.time(), "venue": {"contract": "ESZ6", "market_data": True},
            "broker_status": {"connected": True, "mode": "paper", "account": "DU***567"}}
    redis_client().set(HEARTBEAT_KEY, json.dumps(beat))
    page = viewer_client.get("/").content.decode()
    assert 'id="account-badge" class="badge paper"' in page and "PAPER · DU***567 · ESZ6" in page
    assert 'id="sim-badge" class="badge sim" hidden' in page
    redis_client().set(HEARTBEAT_KEY, json.dumps({**beat, "broker_status": {"connected": False, "mode": "live",
                                                                            "account": "U7***321"}}))
    page = viewer_client.get("/").content.decode()
    assert "LIVE · U7***321" in page and 'class="badge live"' in page
    from trading import health

    assert health.report(ping_workers=False)["gateway"]["broker_ok"] is False, "IB down: the broker is red at once"


def test_heartbeat_feed_time_is_stale_while_the_venue_says_data_is_down(real_redis):
    from trading.live.clock import HeartbeatFeedTime

    beat = {"at": time.time(), "last_tick_wall": time.time(), "last_tick_ts": "2026-12-02T10:00:00+00:00"}
    redis_client().set(HEARTBEAT_KEY, json.dumps(beat))
    assert HeartbeatFeedTime().age_s() is not None
    redis_client().set(HEARTBEAT_KEY, json.dumps({**beat, "feed_ok": False}))
    assert HeartbeatFeedTime().age_s() is None


def test_from_details_reads_what_ib_returns():
    from trading.adapters.ibkr.contracts import from_details

    details = SimpleNamespace(contract=SimpleNamespace(conId=1, symbol="ES", localSymbol="ESH7",
                                                       lastTradeDateOrContractMonth="20270319", exchange="CME",
                                                       currency="USD", multiplier="50", tradingClass="ES"),
                              realExpirationDate="20270319", timeZoneId="US/Central", tradingHours="", liquidHours="")
    assert from_details(details).expiry == date(2027, 3, 19)
