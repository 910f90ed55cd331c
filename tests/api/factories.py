"""Factories for the REST export tests: bars, signals, orders, fills, trades, daily stats, positions."""

from __future__ import annotations

import datetime as dt

import factory

from trading.models import Bar, DailyStats, Fill, Order, OrderIntent, Position, Signal, Trade

T0 = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)


class BarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bar

    symbol = "ES"
    ts = factory.Sequence(lambda n: T0 + dt.timedelta(minutes=n))
    open = 5800.0
    high = 5801.0
    low = 5799.0
    close = 5800.5
    volume = 1000.0
    source = "sim"


class SignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signal

    bar = factory.SubFactory(BarFactory, ts=factory.SelfAttribute("..ts"))
    symbol = "ES"
    ts = factory.Sequence(lambda n: T0 + dt.timedelta(minutes=n))
    confluence = 0.7
    label = "BUY"
    direction = 1
    regime = "trend"
    strategy = "confluence"
    features = factory.LazyFunction(lambda: {"atr": 2.5})
    risk_approved = True


class OrderIntentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderIntent

    client_order_id = factory.Sequence(lambda n: f"mia-{n:06d}")
    role = OrderIntent.Role.ENTRY
    symbol = "ES"
    side = "BUY"
    qty = 1
    order_type = OrderIntent.Type.MARKET


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    intent = factory.SubFactory(OrderIntentFactory)
    client_order_id = factory.SelfAttribute("intent.client_order_id")
    state = Order.State.FILLED
    filled_qty = 1
    avg_fill_price = 5800.25


class FillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fill

    exec_id = factory.Sequence(lambda n: f"exec-{n:06d}")
    order = factory.SubFactory(OrderFactory)
    ts = factory.Sequence(lambda n: T0 + dt.timedelta(minutes=n))
    side = "BUY"
    qty = 1
    price = 5800.25
    commission_usd = 2.5


class TradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trade

    symbol = "ES"
    side = "LONG"
    qty = 1
    entry_time = factory.Sequence(lambda n: T0 + dt.timedelta(hours=n))
    exit_time = factory.LazyAttribute(lambda t: t.entry_time + dt.timedelta(minutes=20))
    entry_price = 5800.0
    exit_price = 5804.0
    pnl_usd = 195.0
    commission_usd = 5.0
    exit_reason = "target"


class DailyStatsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyStats

    day = factory.Sequence(lambda n: dt.date(2025, 3, 3) + dt.timedelta(days=n))
    realized_pnl_usd = 100.0
    trades = 2
    wins = 1
    losses = 1


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Position

    symbol = factory.Sequence(lambda n: f"ES{n}")
    qty = 1
    avg_price = 5800.0
    realized_pnl_usd = 0.0
