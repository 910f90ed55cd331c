"""Dashboard pages beyond the overview: trades, signal audit trail, backtests."""

urlpatterns: list = []
