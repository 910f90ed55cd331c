"""Read-only serializers of the `/api/v1/` lists, and the CSV columns that go with them.

Each `*_CSV` maps a CSV header to the ORM lookup it is read from, in column order: an export keeps
its layout whatever the JSON grows. The trades CSV is the backtest's contract (DESIGN §5), so a live
export and a backtest export load with the same code.
"""

from __future__ import annotations

from rest_framework import serializers

from mlfilter.models import ModelVersion
from trading.engine.backtest.strategies import TRADE_COLUMNS
from trading.models import DailyStats, Fill, Order, Position, Signal, Trade


def _same(*names: str) -> dict[str, str]:
    return {name: name for name in names}


class TradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Trade
        fields = ["id", "symbol", "side", "qty", "entry_time", "exit_time", "entry_price", "exit_price", "pnl_usd",
                  "commission_usd", "exit_reason", "bracket_id", "signal"]


TRADES_CSV = _same(*TRADE_COLUMNS)


class SignalSerializer(serializers.ModelSerializer):
    class Meta:
        model = Signal
        fields = ["id", "bar", "symbol", "ts", "label", "direction", "confluence", "regime", "strategy", "reasons",
                  "ml_confidence", "model_version", "risk_approved", "risk_reasons", "features", "created_at"]


SIGNALS_CSV = _same("id", "ts", "symbol", "label", "direction", "confluence", "regime", "strategy", "reasons",
                    "ml_confidence", "model_version", "risk_approved", "risk_reasons", "features")


class OrderSerializer(serializers.ModelSerializer):
    """A broker order with what its intent asked for (role, side, quantity, prices)."""

    role = serializers.CharField(source="intent.role")
    symbol = serializers.CharField(source="intent.symbol")
    side = serializers.CharField(source="intent.side")
    qty = serializers.IntegerField(source="intent.qty")
    order_type = serializers.CharField(source="intent.order_type")
    limit_price = serializers.FloatField(source="intent.limit_price", allow_null=True)
    stop_price = serializers.FloatField(source="intent.stop_price", allow_null=True)
    bracket_id = serializers.CharField(source="intent.bracket_id")
    signal = serializers.IntegerField(source="intent.signal_id", allow_null=True)

    class Meta:
        model = Order
        fields = ["id", "client_order_id", "broker_order_id", "state", "role", "symbol", "side", "qty", "order_type",
                  "limit_price", "stop_price", "filled_qty", "avg_fill_price", "reason", "bracket_id", "signal",
                  "created_at", "updated_at"]
        read_only_fields = fields


ORDERS_CSV = {"id": "id", "created_at": "created_at", "updated_at": "updated_at",
              "client_order_id": "client_order_id", "broker_order_id": "broker_order_id", "state": "state",
              "role": "intent__role", "symbol": "intent__symbol", "side": "intent__side", "qty": "intent__qty",
              "order_type": "intent__order_type", "limit_price": "intent__limit_price",
              "stop_price": "intent__stop_price", "filled_qty": "filled_qty", "avg_fill_price": "avg_fill_price",
              "reason": "reason", "bracket_id": "intent__bracket_id", "signal": "intent__signal_id"}


class FillSerializer(serializers.ModelSerializer):
    client_order_id = serializers.CharField(source="order.client_order_id")
    role = serializers.CharField(source="order.intent.role")

    class Meta:
        model = Fill
        fields = ["id", "exec_id", "ts", "side", "qty", "price", "commission_usd", "order", "client_order_id", "role"]
        read_only_fields = fields


FILLS_CSV = {"id": "id", "ts": "ts", "exec_id": "exec_id", "side": "side", "qty": "qty", "price": "price",
             "commission_usd": "commission_usd", "order": "order_id", "client_order_id": "order__client_order_id",
             "role": "order__intent__role"}


class DailyStatsSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyStats
        fields = ["day", "realized_pnl_usd", "commission_usd", "trades", "wins", "losses", "consecutive_losses",
                  "peak_equity_usd", "max_drawdown_pct", "last_loss_at"]


DAILY_STATS_CSV = _same(*DailyStatsSerializer.Meta.fields)


class PositionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Position
        fields = ["symbol", "qty", "avg_price", "last_price", "realized_pnl_usd", "opened_at", "updated_at"]


POSITIONS_CSV = _same(*PositionSerializer.Meta.fields)


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = "__all__"


# Every concrete column, in declaration order (foreign keys as their id).
MODEL_VERSIONS_CSV = {field.name: field.attname for field in ModelVersion._meta.concrete_fields}
