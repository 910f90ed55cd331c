"""Interactive Brokers: ES market data, bracket orders, reconciliation and option chains over the TWS API.

One adapter, both directions: ``config`` (the environment and the paper/live rule), ``api`` (the client
library: ``ib_insync`` or its maintained fork ``ib_async``), ``connection`` (connect, reconnect, IB's
system messages), ``contracts`` (front month, trading hours), ``feed`` (ticks and history),
``broker`` (orders, executions, the account snapshot reconciliation reads) and ``options`` (SPX/NDX
chains for the dealer's-bias snapshots).
"""
