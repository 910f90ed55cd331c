"""How MIA reaches Interactive Brokers, and the one rule that keeps a paper setup off a live account.

Read from the environment (``MIA_IB_HOST``, ``MIA_IB_PORT``, ``MIA_IB_CLIENT_ID``, ``MIA_IB_ACCOUNT``,
``MIA_TRADING_MODE``); ``run_gateway --ib-host/--ib-port/--ib-client-id`` override the first three.
IB paper accounts are the ones whose id starts with ``DU``: a live account is refused unless the
trading mode is ``live``, and a paper account is refused in ``live`` mode, so a mistyped variable can
never send real orders, nor a "live" run quietly trade paper. Nothing here is secret (IB Gateway holds
the login), but the account id is shown masked in logs all the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

PAPER, LIVE = "paper", "live"
PAPER_PREFIX = "DU"
DEFAULT_PORT = 4002  # IB Gateway, paper; TWS paper is 7497, live 7496 / IB Gateway live 4001


class IbConfigError(ValueError):
    """The IB settings cannot be used; the message says which variable and why."""


@dataclass(frozen=True)
class IbConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    client_id: int = 1
    account: str = ""
    mode: str = PAPER
    # Seconds to wait for IB's answer to a request (connect, contract details, history).
    timeout_s: float = 10.0
    # Reconnect backoff: 1, 2, 4 ... capped, each with up to +25 % jitter.
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    # Client ids tried after the configured one when IB says it is in use (error 326).
    client_id_attempts: int = 5
    roll_days: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> IbConfig:
        """The settings from ``env``; ``overrides`` (command-line flags) win when not None."""
        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError as exc:
                raise IbConfigError(f"{name}={raw!r} is not an integer") from exc

        mode = env.get("MIA_TRADING_MODE", PAPER).strip().lower() or PAPER
        config = cls(host=env.get("MIA_IB_HOST", "").strip() or "127.0.0.1", port=number("MIA_IB_PORT", DEFAULT_PORT),
                     client_id=number("MIA_IB_CLIENT_ID", 1), account=env.get("MIA_IB_ACCOUNT", "").strip(),
                     mode=mode, roll_days=number("MIA_IB_ROLL_DAYS", 8))
        config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
        config.validate()
        return config

    def validate(self) -> None:
        if self.mode not in (PAPER, LIVE):
            raise IbConfigError(f"MIA_TRADING_MODE={self.mode!r} must be {PAPER!r} or {LIVE!r}")
        if not 0 < self.port < 65536:
            raise IbConfigError(f"MIA_IB_PORT={self.port} is not a TCP port")
        if not 0 <= self.client_id <= 2**31 - 1:
            raise IbConfigError(f"MIA_IB_CLIENT_ID={self.client_id} must be a non-negative integer")
        if not 0 <= self.roll_days <= 60:
            raise IbConfigError(f"MIA_IB_ROLL_DAYS={self.roll_days} must be between 0 and 60")

    def check_broker_account(self, managed: list[str] | None = None) -> None:
        """Refuse to trade on an account that does not match the trading mode (or that IB does not manage)."""
        if not self.account:
            raise IbConfigError("MIA_IB_ACCOUNT is required with --broker ibkr (your IB account id, DU... for paper)")
        paper = self.account.upper().startswith(PAPER_PREFIX)
        if not paper and self.mode != LIVE:
            raise IbConfigError(f"account {self.masked_account} is a live account (paper ids start with "
                                f"{PAPER_PREFIX}); set MIA_TRADING_MODE=live to trade it")
        if paper and self.mode == LIVE:
            raise IbConfigError(f"account {self.masked_account} is a paper account but MIA_TRADING_MODE=live; "
                                "use MIA_TRADING_MODE=paper")
        if managed is not None and self.account not in managed:
            raise IbConfigError(f"IB does not manage account {self.masked_account} on this login "
                                f"(it manages {', '.join(mask(a) for a in managed) or 'none'})")

    @property
    def masked_account(self) -> str:
        return mask(self.account)

    def __repr__(self) -> str:
        return (f"IbConfig(host={self.host!r}, port={self.port}, client_id={self.client_id}, "
                f"account={self.masked_account!r}, mode={self.mode!r})")


def mask(account: str) -> str:
    """``DU1234567`` -> ``DU***567``: enough to tell accounts apart in a log, not to name one."""
    if len(account) <= 5:
        return "*" * len(account)
    return f"{account[:2]}***{account[-3:]}"
