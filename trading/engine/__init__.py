"""Pure trading core: no Django imports. Shared by the backtester and the live worker."""
