"""Reads of options snapshots: the bias the trading cycle uses, levels for charts, history for pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from options.analytics.config import SIGN_CONVENTIONS, AnalysisConfig
from options.models import BiasSettings, OptionsSnapshot
from options.overlays import Level, es_levels, to_es

BIAS_UNDERLYING = "SPX"
# A bias older than this says nothing about the current market; the engine then uses neutral 0.5.
STALE_AFTER = timedelta(minutes=30)
UNDERLYINGS = ("SPX", "NDX")


def bias_at(at: datetime) -> float | None:
    """Dealer-bias score of the newest SPX snapshot with asof in [at - 30 min, at], else None.

    When that newest snapshot is invalid the answer is None (neutral): a failed chain must not leave
    an older score in force as if it were current, and never yields a score from partial data.
    Nothing after `at` is visible, so a backfilled or replayed bar sees only what was known then.
    """
    newest = (OptionsSnapshot.objects.filter(underlying=BIAS_UNDERLYING, asof__lte=at, asof__gte=at - STALE_AFTER)
              .order_by("-asof").values_list("valid", "dealer_bias_score").first())
    if newest is None or not newest[0]:
        return None
    return newest[1]


def latest_snapshot(underlying: str, *, valid_only: bool = True) -> OptionsSnapshot | None:
    rows = OptionsSnapshot.objects.filter(underlying=underlying.upper())
    if valid_only:
        rows = rows.filter(valid=True)
    return rows.order_by("-asof").first()


def snapshot_history(underlying: str, limit: int = 288) -> list[OptionsSnapshot]:
    """The last `limit` snapshots (valid or not), oldest first, without the heavy JSON columns."""
    rows = list(
        OptionsSnapshot.objects.filter(underlying=underlying.upper())
        .defer("profile", "cycles", "errors", "bias_components")
        .order_by("-asof")[:limit]
    )
    rows.reverse()
    return rows


def default_basis() -> float:
    """ES minus SPX from the settings row, without creating it (a read never writes)."""
    value = BiasSettings.objects.filter(pk=1).values_list("es_spx_basis", flat=True).first()
    return float(value) if value is not None else float(BiasSettings._meta.get_field("es_spx_basis").default)


def analysis_config() -> AnalysisConfig:
    """Analysis parameters with the dealer sign convention chosen in the admin."""
    sign = BiasSettings.objects.filter(pk=1).values_list("dealer_sign", flat=True).first()
    return AnalysisConfig(sign_convention=sign) if sign in SIGN_CONVENTIONS else AnalysisConfig()


def has_snapshot(*, underlying: str, asof: datetime, source: str) -> bool:
    return OptionsSnapshot.objects.filter(underlying=underlying, asof=asof, source=source).exists()


def basis_of(snapshot: OptionsSnapshot) -> float:
    return snapshot.es_basis if snapshot.es_basis is not None else default_basis()


def snapshot_levels(snapshot: OptionsSnapshot) -> list[Level]:
    """Flip and walls of one SPX snapshot in ES prices (empty for other underlyings or invalid rows)."""
    if snapshot.underlying != BIAS_UNDERLYING or not snapshot.valid:
        return []
    return es_levels(underlying=snapshot.underlying, basis=basis_of(snapshot), gamma_flip=snapshot.gamma_flip,
                     call_wall=snapshot.call_wall, put_wall=snapshot.put_wall)


def levels_for_es(at: datetime | None = None) -> list[Level]:
    """`[{price, label, color}]` of the newest valid SPX snapshot (at or before `at` when given)."""
    rows = OptionsSnapshot.objects.filter(underlying=BIAS_UNDERLYING, valid=True)
    if at is not None:
        rows = rows.filter(asof__lte=at)
    snapshot = rows.order_by("-asof").first()
    return snapshot_levels(snapshot) if snapshot is not None else []


def cycles_summary(cycles: dict[str, Any]) -> dict[str, Any]:
    """The gamma-cycle numbers the pages show: nearest expiry's max pain and 25-delta RR, 0-DTE share,
    days to the monthly OPEX."""
    nearest = (cycles.get("expiries") or [{}])[0]
    calendar = cycles.get("calendar") or {}
    return {
        "expiry": nearest.get("expiry"),
        "max_pain": nearest.get("max_pain"),
        "risk_reversal_25d": nearest.get("risk_reversal"),
        "share_0dte": cycles.get("share_0dte"),
        "share_this_week": cycles.get("share_this_week"),
        "days_to_opex": calendar.get("days_to_monthly_opex"),
        "next_opex": calendar.get("next_monthly_opex"),
    }


def bias_message(snapshot: OptionsSnapshot, *, with_profile: bool = True) -> dict[str, Any]:
    """The `bias` websocket payload (also the Options page's initial data) for one snapshot."""
    is_spx = snapshot.underlying == BIAS_UNDERLYING
    basis = basis_of(snapshot) if is_spx else None
    data: dict[str, Any] = {
        "id": snapshot.pk,
        "underlying": snapshot.underlying,
        "asof": snapshot.asof.isoformat(),
        "valid": snapshot.valid,
        "simulated": snapshot.simulated,
        "source": snapshot.source,
        "score": snapshot.dealer_bias_score,
        "spot": snapshot.spot,
        "total_gex_bn": snapshot.total_gex_bn,
        "total_gex_model_bn": snapshot.total_gex_model_bn,
        "gamma_flip": snapshot.gamma_flip,
        "call_wall": snapshot.call_wall,
        "put_wall": snapshot.put_wall,
        "pcr_oi": snapshot.pcr_oi,
        "es_basis": basis,
        "gamma_flip_es": to_es(snapshot.gamma_flip, basis) if is_spx else None,
        "call_wall_es": to_es(snapshot.call_wall, basis) if is_spx else None,
        "put_wall_es": to_es(snapshot.put_wall, basis) if is_spx else None,
        "levels": snapshot_levels(snapshot),
        "cycles": cycles_summary(snapshot.cycles or {}),
        "errors": list(snapshot.errors or []),
    }
    if with_profile:
        profile = snapshot.profile or []
        data["profile"] = {"strike": [row.get("strike") for row in profile],
                           "gex_bn": [row.get("total_gex_bn") for row in profile]}
    return data


def history_points(underlying: str, limit: int = 288) -> dict[str, list[Any]]:
    """Bias-score history as chart arrays."""
    rows = snapshot_history(underlying, limit)
    return {"asof": [r.asof.isoformat() for r in rows], "score": [r.dealer_bias_score for r in rows],
            "valid": [r.valid for r in rows]}
