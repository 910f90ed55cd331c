"""Dashboard pages beyond the overview: trades, signal audit trail, backtests."""

from django.urls import path

from trading import views_backtests, views_signals, views_trades

urlpatterns = [
    path("trades/", views_trades.trades, name="trades"),
    path("signals/", views_signals.signals, name="signals"),
    path("signals/<int:pk>/", views_signals.signal_detail, name="signal-detail"),
    path("backtests/", views_backtests.backtests, name="backtests"),
    path("backtests/<int:pk>/", views_backtests.backtest_detail, name="backtest-detail"),
    path("backtests/<int:pk>/status/", views_backtests.backtest_status, name="backtest-status"),
    path("backtests/<int:pk>/cancel/", views_backtests.backtest_cancel, name="backtest-cancel"),
    path("backtests/<int:pk>/report/", views_backtests.backtest_report, name="backtest-report"),
    path("backtests/<int:pk>/<str:kind>.csv", views_backtests.backtest_download, name="backtest-download"),
]
