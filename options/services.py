"""Writes: store an analysed chain, keep its raw contracts as Parquet, refresh the ES overlay, tell the
dashboard. Keyword-only arguments, one transaction, side effects after commit."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import transaction

from options import selectors
from options.analytics.chain import Chain
from options.analytics.snapshot import SnapshotResult
from options.models import OptionsSnapshot
from options.overlays import write_atomic, write_overlay
from trading.push import push

log = logging.getLogger(__name__)
NEUTRAL = 0.5
# A chain with fewer contracts than this share of the previous valid snapshot of the same underlying
# (from the same source) is taken for a partial download, not a market that lost half its strikes.
MIN_SHARE_OF_PREVIOUS = 0.5


def snapshots_dir() -> Path:
    return Path(settings.VAR_DIR) / "options_snapshots"


def overlay_path() -> Path:
    return Path(settings.VAR_DIR) / "overlays" / "levels.csv"


def chain_file_path(underlying: str, asof: Any) -> Path:
    return snapshots_dir() / f"{underlying}_{asof:%Y%m%dT%H%M%S}.parquet"


def write_chain_parquet(*, chain: Chain) -> Path:
    """The full chain as Parquet (spot and asof in the file metadata), replaced atomically."""
    table = pa.Table.from_pandas(chain.contracts, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.update({b"mia.underlying": chain.underlying.encode(), b"mia.spot": repr(chain.spot).encode(),
                 b"mia.asof": chain.asof.isoformat().encode()})
    buf = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buf, compression="zstd")
    path = chain_file_path(chain.underlying, chain.asof)
    write_atomic(path, buf.getvalue())
    return path


def _fields(result: SnapshotResult) -> dict[str, Any]:
    data = result.to_dict()  # finite floats or None, JSON-ready profile and cycles
    valid = bool(result.valid)
    return {
        "spot": data["spot"],
        "contracts": result.contracts,
        "valid": valid,
        "errors": data["errors"],
        "total_gex_bn": data["total_gex_bn"],
        "total_gex_model_bn": data["total_gex_model_bn"],
        "gamma_flip": data["gamma_flip"] if valid else None,
        "call_wall": data["call_wall"] if valid else None,
        "put_wall": data["put_wall"] if valid else None,
        "pcr_oi": data["pcr_oi"],
        "pcr_volume": data["pcr_volume"],
        # Never a score from partial data: an invalid chain is exactly neutral.
        "dealer_bias_score": data["dealer_bias_score"] if valid and data["dealer_bias_score"] is not None
        else NEUTRAL,
        "bias_components": data["bias_components"] if valid else {},
        "profile": data["profile"] if valid else [],
        "cycles": data["cycles"] if valid else {},
    }


@transaction.atomic
def record_snapshot(*, result: SnapshotResult, source: str, simulated: bool, chain: Chain | None = None,
                    es_price: float | None = None, rejected_rows: int = 0) -> OptionsSnapshot:
    """Store one analysed chain (valid or not) and, once committed, refresh the overlay and push it.

    Storing the same underlying, asof and source again replaces the row, so a retried task or a
    re-run CLI never duplicates a snapshot. `es_price` (ES at the chain's time) fixes the ES-SPX
    basis of this snapshot; without it the configured basis applies when levels are drawn.
    """
    fields = _fields(result)
    if not fields["valid"] and not fields["errors"]:
        fields["errors"] = ["chain did not analyse to a valid snapshot"]
    shrunk = _shrunk(result, source)
    if fields["valid"] and shrunk:
        fields.update(valid=False, errors=[*fields["errors"], shrunk], gamma_flip=None, call_wall=None, put_wall=None,
                      dealer_bias_score=NEUTRAL, bias_components={}, profile=[], cycles={})
    es_basis = None
    if es_price is not None and result.underlying == selectors.BIAS_UNDERLYING and fields["spot"]:
        es_basis = round(float(es_price) - float(fields["spot"]), 4)
    written: Path | None = None
    try:
        if chain is not None:
            written = write_chain_parquet(chain=chain)
        row, _ = OptionsSnapshot.objects.update_or_create(
            underlying=result.underlying, asof=result.asof, source=source,
            defaults={**fields, "simulated": simulated, "es_basis": es_basis, "rejected_rows": rejected_rows,
                      "chain_path": str(written) if written else ""},
        )
    except BaseException:
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    pk = row.pk
    transaction.on_commit(lambda: publish_snapshot(snapshot_id=pk))
    return row


def _shrunk(result: SnapshotResult, source: str) -> str | None:
    """Why a chain looks partial next to the previous valid snapshot of the same underlying, or None."""
    previous = (OptionsSnapshot.objects.filter(underlying=result.underlying, source=source, valid=True,
                                               asof__lt=result.asof).order_by("-asof")
                .values_list("contracts", "asof").first())
    if previous is None or not previous[0] or result.contracts >= MIN_SHARE_OF_PREVIOUS * previous[0]:
        return None
    return (f"{result.contracts} contracts, fewer than half of the {previous[0]} in the previous snapshot "
            f"({previous[1]:%Y-%m-%d %H:%M}): a partial chain, stored invalid")


def publish_snapshot(*, snapshot_id: int) -> None:
    """After commit: rewrite the ES overlay from the newest valid SPX levels, then tell the dashboard."""
    row = OptionsSnapshot.objects.filter(pk=snapshot_id).first()
    if row is None:
        return
    if not row.valid:
        log.warning("invalid %s options snapshot at %s (%s): bias left neutral", row.underlying,
                    row.asof.isoformat(), "; ".join(row.errors))
        push("alert", {"level": "warning", "source": "options", "underlying": row.underlying,
                       "asof": row.asof.isoformat(), "snapshot_id": row.pk,
                       "message": f"{row.underlying} options chain invalid: {'; '.join(row.errors)[:300]}"})
        return
    if row.underlying == selectors.BIAS_UNDERLYING:
        try:
            write_overlay(overlay_path(), selectors.levels_for_es())
        except OSError as exc:
            log.warning("could not write the overlay file %s: %s", overlay_path(), exc)
    push("bias", selectors.bias_message(row))
