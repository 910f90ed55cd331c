"""Orders from intent to trade: outbox intents, broker orders, fills, the position, trades, daily stats.

The intent row is committed before anything is sent (transactional outbox); its `client_order_id`
is the idempotency key all the way to the broker, so a repeated task, a redelivered stream command
or a crash between commit and send still yields exactly one order.
"""

from __future__ import annotations

from django.db import models

from trading.models.signals import Signal


class Side(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class OrderIntent(models.Model):
    class Role(models.TextChoices):
        ENTRY = "ENTRY", "Entry"
        STOP = "STOP", "Stop loss"
        TARGET = "TARGET", "Profit target"
        EXIT = "EXIT", "Exit"
        FLATTEN = "FLATTEN", "Flatten"

    class Type(models.TextChoices):
        MARKET = "MKT", "Market"
        LIMIT = "LMT", "Limit"
        STOP = "STP", "Stop"

    client_order_id = models.CharField(max_length=64, unique=True)
    signal = models.ForeignKey(Signal, null=True, blank=True, on_delete=models.PROTECT, related_name="intents")
    bracket_id = models.CharField(max_length=40, db_index=True, blank=True)
    role = models.CharField(max_length=8, choices=Role.choices)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4, choices=Side.choices)
    qty = models.PositiveIntegerField()
    order_type = models.CharField(max_length=3, choices=Type.choices)
    limit_price = models.FloatField(null=True, blank=True)
    stop_price = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=40, blank=True)  # why an exit was sent: time, reversal, flatten
    atr = models.FloatField(null=True, blank=True)  # entries: ATR at decision time, sizes the bracket
    # entries: the bracket policy at decision time, then entry, stop, target, risk once filled (gateway)
    bracket = models.JSONField(default=dict, blank=True)
    # entries: how the worker manages the open bracket (best price, bars held, break-even done)
    management = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)  # feed time of the bar close it was decided on
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.role} {self.side} {self.qty} {self.order_type}"


class Order(models.Model):
    class State(models.TextChoices):
        NEW = "NEW", "New"
        SUBMITTED = "SUBMITTED", "Submitted"
        ACCEPTED = "ACCEPTED", "Accepted"
        PARTIALLY_FILLED = "PARTIALLY_FILLED", "Partially filled"
        FILLED = "FILLED", "Filled"
        CANCELLED = "CANCELLED", "Cancelled"
        REJECTED = "REJECTED", "Rejected"

    WORKING = (State.NEW, State.SUBMITTED, State.ACCEPTED, State.PARTIALLY_FILLED)

    intent = models.OneToOneField(OrderIntent, on_delete=models.PROTECT, related_name="order")
    client_order_id = models.CharField(max_length=64, unique=True)
    broker_order_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW, db_index=True)
    filled_qty = models.PositiveIntegerField(default=0)
    avg_fill_price = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.state}"


class Fill(models.Model):
    exec_id = models.CharField(max_length=64, unique=True)  # broker execution id: a redelivery is a no-op
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    ts = models.DateTimeField(db_index=True)
    side = models.CharField(max_length=4, choices=Side.choices)
    qty = models.PositiveIntegerField()
    price = models.FloatField()
    commission_usd = models.FloatField(default=0)

    class Meta:
        ordering = ["-ts"]


class Position(models.Model):
    """The net position and the account's book (``trading.engine.book``), written by the gateway only."""

    symbol = models.CharField(max_length=16, unique=True)
    qty = models.IntegerField(default=0)  # signed: + long, - short
    avg_price = models.FloatField(null=True, blank=True)
    last_price = models.FloatField(null=True, blank=True)
    realized_pnl_usd = models.FloatField(default=0)  # cumulative, net of every commission paid
    opened_at = models.DateTimeField(null=True, blank=True)
    book = models.JSONField(default=dict, blank=True)  # Book.to_state(): the source of the fields above
    updated_at = models.DateTimeField(auto_now=True)


class Trade(models.Model):
    """A round trip, flat to flat. `pnl_usd` is net of commission."""

    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=5)  # LONG / SHORT
    qty = models.PositiveIntegerField()
    entry_time = models.DateTimeField(db_index=True)
    exit_time = models.DateTimeField(db_index=True)
    entry_price = models.FloatField()
    exit_price = models.FloatField()
    pnl_usd = models.FloatField()
    commission_usd = models.FloatField()
    exit_reason = models.CharField(max_length=24)
    bracket_id = models.CharField(max_length=40, blank=True)
    signal = models.ForeignKey(Signal, null=True, blank=True, on_delete=models.SET_NULL, related_name="trades")

    class Meta:
        ordering = ["-exit_time"]


class DailyStats(models.Model):
    """Per CME trading day (the session that opens at 17:00 CT the evening before)."""

    day = models.DateField(unique=True)
    realized_pnl_usd = models.FloatField(default=0)  # net of the commissions paid that day
    commission_usd = models.FloatField(default=0)
    entries = models.PositiveIntegerField(default=0)  # positions opened (the max-trades rule)
    trades = models.PositiveIntegerField(default=0)  # round trips closed
    wins = models.PositiveIntegerField(default=0)
    losses = models.PositiveIntegerField(default=0)
    consecutive_losses = models.PositiveIntegerField(default=0)
    peak_equity_usd = models.FloatField(default=0)
    max_drawdown_pct = models.FloatField(default=0)
    last_loss_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily stats"


class OrderCommand(models.Model):
    """The outbox of commands to the gateway: committed before anything is sent, published after commit,
    republished by the sweep until the gateway acknowledges it (``trading.live.order_stream``)."""

    class Action(models.TextChoices):
        SUBMIT = "submit", "Submit"
        CANCEL = "cancel", "Cancel"
        MODIFY = "modify", "Modify price"
        CANCEL_ALL = "cancel_all", "Cancel all"
        CANCEL_ENTRIES = "cancel_entries", "Cancel entries"
        FLATTEN = "flatten", "Flatten"

    action = models.CharField(max_length=16, choices=Action.choices)
    client_order_id = models.CharField(max_length=64, blank=True)
    price = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.pk} {self.action} {self.client_order_id}".strip()
