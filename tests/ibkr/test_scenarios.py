"""The IB adapter's promises, each a scenario on the loopback TWS with the real ib_insync and ib_async clients."""

from __future__ import annotations

import time

import pytest

from tests.ibkr.conftest import FRONT, entry, halted, ready, state_of, submit
from tests.ibkr.loopback import ServerOrder
from trading.adapters.base import BrokerUnavailable, Idle
from trading.adapters.ibkr.config import IbConfigError
from trading.engine.ticks import NS_PER_S
from trading.live.commands import Action, Command
from trading.models import Bar, Fill, Order, Trade

pytestmark = pytest.mark.django_db(transaction=True)


def test_connects_and_resolves_the_front_month(venue, tws):
    v = venue()
    v.connected()
    assert v.feed.contract.local_symbol == "ESZ6" and v.feed.contract.con_id == FRONT
    assert tws.connected_clients == [7]
    assert [m[1] for m in tws.messages(9)], "the contract came from reqContractDetails"
    assert v.problems == [] and halted() is None


def test_an_account_this_login_does_not_manage_is_refused(venue, tws):
    tws.accounts = ("DU7654321",)
    v = venue()
    with pytest.raises(IbConfigError, match="does not manage account DU\\*\\*\\*567"):
        v.pump(lambda: False, timeout=3)
    assert not v.session.socket_up


def test_client_id_in_use_tries_the_next(venue, tws):
    tws.refuse_client_ids = {7}
    v = venue()
    v.connected()
    assert v.session.client_id == 8 and tws.connected_clients == [8]


def test_ticks_become_bars_with_the_aggressor_from_the_quote(venue, tws):
    v = venue()
    v.connected()
    tws.quote(FRONT, 5000.00, 5000.25)
    tws.trade(FRONT, 5000.25, 3)   # at the ask: a buy
    tws.trade(FRONT, 5000.00, 2)   # at the bid: a sell
    tws.quote(FRONT, 5000.25, 5000.50)
    tws.trade(FRONT, 5000.50, 4)
    v.pump(lambda: v.gateway.stats.ticks == 3)
    # The clients stamp prints on arrival (IB's own stamps are whole seconds); the minute's bar closes
    # on the first quiet moment after it ends, here brought forward instead of waiting for it.
    v.gateway.step(Idle(time.time_ns() + 62 * NS_PER_S))
    bar = Bar.objects.get()
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (5000.25, 5000.5, 5000.0, 5000.5, 9)
    assert (bar.buy_volume, bar.sell_volume) == (7, 2) and bar.source == "ibkr"
    assert (bar.bid, bar.ask) == (5000.25, 5000.5)


def test_bracket_lifecycle_with_a_partial_fill(venue, tws):
    v = ready(venue)
    assert submit(v, "E1", qty=2) == "ACCEPTED"
    parent, stop, target = (tws.order(ref) for ref in ("E1", "E1-S", "E1-T"))
    assert stop.parent_id == parent.order_id and target.parent_id == parent.order_id
    assert stop.oca == target.oca == "E1" and stop.order_type == "STP" and target.order_type == "LMT"
    sent = [m for m in tws.messages(3)][:3]
    assert [m[27] for m in sent] == ["0", "0", "1"], "transmit only on the last order of the bracket"

    tws.fill("E1", 5001.0, qty=1)
    v.pump(lambda: Fill.objects.count() == 1)
    assert state_of("E1") == "PARTIALLY_FILLED" and v.desk.book.qty == 1
    v.pump(lambda: tws.order("E1-S").qty == 1)  # children resized to what filled
    tws.fill("E1", 5002.0)
    v.pump(lambda: Fill.objects.count() == 2 and tws.order("E1-S").qty == 2)
    order = Order.objects.get(client_order_id="E1")
    assert order.state == "FILLED" and order.avg_fill_price == 5001.5 and v.desk.book.qty == 2
    assert tws.order("E1-S").aux == pytest.approx(5001.5 - 3.0)  # stop moved to the fill: 1.5 ATR below
    assert Fill.objects.get(exec_id=tws.executions[0].exec_id).commission_usd == 2.25  # IB's commission report

    tws.fill("E1-T", 5007.5)
    v.pump(lambda: Trade.objects.count() == 1)
    v.pump(lambda: state_of("E1-S") == "CANCELLED")  # one cancels the other, at IB
    trade = Trade.objects.get()
    assert trade.exit_reason == "target" and trade.qty == 2 and v.desk.book.qty == 0
    assert halted() is None


def test_rejected_order_is_marked_with_ibs_text(venue, tws):
    v = ready(venue)
    tws.reject_next = (201, "Order rejected - reason:Insufficient margin")
    submit(v, "E2")
    tws.quote(FRONT, 4999.75, 5000.0)
    tws.trade(FRONT, 5000.0, 1)  # a print in the same moment must not swallow the rejection
    v.pump(lambda: state_of("E2") == "REJECTED")
    assert "201 Order rejected - reason:Insufficient margin" in Order.objects.get(client_order_id="E2").reason
    assert halted() is None


def test_unclassified_order_error_halts(venue, tws):
    v = ready(venue)
    tws.reject_next = (9999, "something new")
    submit(v, "E3")
    v.pump(halted)
    assert "9999" in halted()


def test_halt_and_flatten_cancel_at_ib_then_one_closing_order(venue, tws):
    v = ready(venue)
    submit(v, "E4")
    tws.fill("E4", 5000.0)
    v.pump(lambda: v.desk.book.qty == 1 and v.broker.position == 1)
    tws.auto_fill = 4999.0
    v.command(Command(Action.FLATTEN, reason="kill switch"))
    v.pump(lambda: v.desk.book.qty == 0 and Trade.objects.count() == 1)
    cancels = tws.messages(4)
    assert len(cancels) >= 2, "the stop and the target were cancelled at IB"
    closing = [o for o in tws.orders.values() if o.order_ref.startswith("F")]
    assert len(closing) == 1 and closing[0].action == "SELL" and closing[0].qty == 1
    sent = list(tws.received)
    closing_at = next(i for i, m in enumerate(sent) if m[0] == "3" and m[26].startswith("F"))
    assert max(i for i, m in enumerate(sent) if m[0] == "4") < closing_at, "cancels first, then the closing order"
    assert Trade.objects.get().exit_reason == "flatten"


def test_restart_with_position_and_its_stop_reconciles_and_continues(venue, tws):
    v = ready(venue)
    submit(v, "E5")
    tws.fill("E5", 5000.0)
    v.pump(lambda: v.desk.book.qty == 1 and state_of("E5-S") == "ACCEPTED")
    v.close()
    tws.restart(next_valid_id=1)
    again = venue()  # MIA restarted too
    again.connected()
    assert halted() is None and again.broker.position == 1
    assert state_of("E5-S") == "ACCEPTED"
    tws.fill("E5-S", 4997.0)
    again.pump(lambda: Trade.objects.count() == 1)
    assert Trade.objects.get().exit_reason == "stop"


def test_restart_with_position_but_no_stop_halts(venue, tws):
    v = ready(venue)
    submit(v, "E6")
    tws.fill("E6", 5000.0)
    v.pump(lambda: v.desk.book.qty == 1)
    v.close()
    for order in tws.live_orders():
        order.status = "Cancelled"  # someone cancelled the bracket in TWS while MIA was away
    again = venue()
    again.pump(halted)
    assert "no working stop" in halted()


def test_unknown_order_at_ib_halts(venue, tws):
    tws.add_order(ServerOrder(order_id=50, client_id=0, perm_id=tws.new_perm_id(), con_id=FRONT, action="BUY",
                              qty=1, order_type="LMT", lmt=4900.0, aux=None, oca="", account="DU1234567",
                              order_ref="", transmit=True, parent_id=0, status="Submitted"))
    v = venue()
    v.pump(halted)
    assert "MIA does not know" in halted()


def test_lower_next_valid_id_after_a_gateway_restart_misattributes_nothing(venue, tws):
    v = ready(venue)
    submit(v, "E7")
    tws.fill("E7", 5000.0)
    tws.fill("E7-T", 5006.0)
    v.pump(lambda: Trade.objects.count() == 1)
    used = {o.order_id for o in tws.orders.values()}
    tws.restart(next_valid_id=1)  # IB Gateway restarted: order ids start again below those used
    v.pump(lambda: v.session.state.connected and not v.broker.reconcile_due, timeout=8)
    submit(v, "E8", side="SELL")
    reused = {tws.order(ref).order_id for ref in ("E8", "E8-S", "E8-T")}
    assert reused & used, "the scenario reuses order ids of the first session"
    tws.fill("E8", 5010.0)
    v.pump(lambda: Fill.objects.filter(order__client_order_id="E8").exists())
    assert Fill.objects.filter(order__client_order_id="E7").count() == 1
    assert v.desk.book.qty == -1 and halted() is None


def test_socket_dropped_mid_submit_leaves_exactly_one_order(venue, tws):
    v = ready(venue)
    tws.drop_on_place = True  # the first order reaches IB, then the socket dies before any answer
    submit(v, "E9")
    v.pump(lambda: v.session.state.connected and not v.broker.reconcile_due and v.session.generation >= 2,
           timeout=8)
    v.pump(seconds=0.5)
    assert len([o for o in tws.orders.values() if o.order_ref == "E9"]) == 1
    assert {o.order_ref for o in tws.live_orders()} == {"E9", "E9-S", "E9-T"}
    assert halted() is None


def test_socket_dropped_before_the_order_reached_ib_sends_it_once_after_reconnect(venue, tws):
    v = ready(venue)
    tws.discard_on_place = True
    submit(v, "E13")
    assert tws.order("E13") is None
    v.pump(lambda: {o.order_ref for o in tws.live_orders()} == {"E13", "E13-S", "E13-T"}, timeout=8)
    v.pump(seconds=0.5)
    assert len([o for o in tws.orders.values() if o.order_ref == "E13"]) == 1
    tws.fill("E13", 5000.0)
    v.pump(lambda: v.desk.book.qty == 1)
    assert halted() is None


def test_executions_replayed_after_reconnect_count_once(venue, tws):
    v = ready(venue)
    submit(v, "E10")
    tws.fill("E10", 5000.0)
    v.pump(lambda: v.desk.book.qty == 1)
    tws.drop()
    v.pump(lambda: v.session.generation >= 2 and v.session.state.connected and not v.broker.reconcile_due,
           timeout=8)
    assert Fill.objects.count() == 1 and v.desk.book.qty == 1 and halted() is None


def test_missed_execution_while_disconnected_is_recorded_once(venue, tws):
    v = ready(venue)
    submit(v, "E11")
    tws.fill("E11", 5000.0)
    v.pump(lambda: v.desk.book.qty == 1)
    tws.drop()
    tws.fill("E11-S", 4997.0)  # the stop fills while MIA is disconnected
    v.pump(lambda: Trade.objects.count() == 1, timeout=8)
    assert Fill.objects.count() == 2 and v.desk.book.qty == 0 and halted() is None


def test_1100_fails_closed_and_1101_resubscribes(venue, tws):
    v = venue()
    v.connected()
    subscriptions = len(tws.messages(97))
    tws.send_error(-1, 1100, "Connectivity between IB and Trader Workstation has been lost.")
    v.pump(lambda: not v.session.state.connected)
    v.desk.book.last_price = 5000.0
    entry("E12")
    with pytest.raises(BrokerUnavailable, match="not connected"):
        v.command(Command(Action.SUBMIT, "E12"))
    assert state_of("E12") == "NEW" and tws.order("E12") is None
    tws.send_error(-1, 1101, "Connectivity between IB and TWS has been restored- data lost.")
    v.pump(lambda: len(tws.messages(97)) >= subscriptions + 2)
    assert v.session.state.connected
    v.command(Command(Action.SUBMIT, "E12"))
    assert tws.order("E12") is not None
