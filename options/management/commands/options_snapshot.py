"""`manage.py options_snapshot --cboe PATH [--json] [--save] [--vix V | --vix-file PATH]` (DESIGN §5).

With --json, stdout is exactly the 12 contract keys; otherwise a short human summary. Bad input
exits non-zero with a one-line reason and writes nothing.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from options import selectors, services
from options.analytics.chain import ChainFileError
from options.analytics.expiry import NEW_YORK
from options.analytics.snapshot import SnapshotResult, analyze
from options.sources.cboe import parse_cboe

CLI_KEYS = ("underlying", "spot", "asof", "contracts", "total_gex_bn", "total_gex_model_bn", "gamma_flip",
            "call_wall", "put_wall", "pcr_oi", "pcr_volume", "dealer_bias_score")


def vix_close(path: Path, on: Any) -> float:
    """The VIX close of date `on` (or the last close before it) from a DATE,...,CLOSE file."""
    best: tuple[str, float] | None = None
    target = on.isoformat()
    try:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                day, close = (row.get("DATE") or "").strip(), (row.get("CLOSE") or "").strip()
                if day and close and day <= target and (best is None or day > best[0]):
                    best = (day, float(close))
    except (OSError, ValueError, csv.Error) as exc:
        raise CommandError(f"--vix-file {path}: {exc}") from None
    if best is None:
        raise CommandError(f"--vix-file {path}: no VIX close on or before {target}")
    return best[1]


class Command(BaseCommand):
    help = "Analyse a CBOE option-chain download: GEX, gamma flip, walls, put/call ratios, dealer's bias."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cboe", required=True, help="CBOE chain download (CSV or quotedata.dat)")
        parser.add_argument("--json", action="store_true", help="print the contract keys as JSON")
        parser.add_argument("--save", action="store_true", help="store the snapshot (source 'cboe')")
        parser.add_argument("--vix", type=float, help="VIX level for the bias score")
        parser.add_argument("--vix-file", help="VIX daily CSV (DATE,...,CLOSE): use the close of the chain's date")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["cboe"])
        try:
            parsed = parse_cboe(path)
        except ChainFileError as exc:
            raise CommandError(f"{path}: {exc}") from None
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
        except (UnicodeError, ValueError) as exc:  # not text, or not a chain the parser can read
            raise CommandError(f"{path}: {exc}") from None
        chain = parsed.chain
        vix = options.get("vix")
        if vix is None and options.get("vix_file"):
            vix = vix_close(Path(options["vix_file"]), chain.asof.astimezone(NEW_YORK).date())
        if vix is not None and not (math.isfinite(vix) and vix > 0):
            raise CommandError(f"--vix must be a positive number, got {vix}")
        result = analyze(chain, vix=vix, config=selectors.analysis_config())
        if not result.valid:
            raise CommandError(f"{path}: not a usable chain: {'; '.join(result.errors)}")
        if parsed.rejected:
            line, reason = parsed.rejected[0]
            self.stderr.write(f"{len(parsed.rejected)} data line(s) rejected (first: line {line}: {reason})")
        if options["save"]:
            row = services.record_snapshot(result=result, source="cboe", simulated=False, chain=chain,
                                           rejected_rows=len(parsed.rejected))
            self.stderr.write(f"saved snapshot {row.pk}")
        self.stdout.write(self._render(result, as_json=options["json"]))

    @staticmethod
    def _render(result: SnapshotResult, *, as_json: bool) -> str:
        data = result.to_dict()
        if as_json:
            return json.dumps({k: data[k] for k in CLI_KEYS}, allow_nan=False)

        def fmt(value: float | None, digits: int = 2) -> str:
            return "n/a" if value is None else f"{value:,.{digits}f}"

        return "\n".join([
            f"{data['underlying']} {data['asof']}  spot {fmt(data['spot'])}  ({data['contracts']} contracts)",
            f"total GEX {fmt(data['total_gex_bn'])} $bn/1% (model {fmt(data['total_gex_model_bn'])})",
            f"gamma flip {fmt(data['gamma_flip'])}  call wall {fmt(data['call_wall'])}  "
            f"put wall {fmt(data['put_wall'])}",
            f"put/call OI {fmt(data['pcr_oi'])}  volume {fmt(data['pcr_volume'])}  "
            f"dealer bias {fmt(data['dealer_bias_score'], 3)}",
        ])
