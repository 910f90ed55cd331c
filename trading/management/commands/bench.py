"""`manage.py bench [--only NAME,...] [--json OUT]`: speed and memory on the real data (DESIGN §5).

Prints a JSON list of {"name", "value", "unit", "target", "better", "detail"}. The benchmarks live in
the top-level `bench` package; this command only finds the data and collects their results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import bench


def shared_data() -> Path:
    return Path(os.environ.get("MIA_SHARED_DATA", settings.BASE_DIR.parent / "shared" / "data"))


class Command(BaseCommand):
    help = "Run the benchmarks on the real data in ../shared/data and print JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--only", default="", help="comma-separated benchmark names")
        parser.add_argument("--json", dest="out", type=Path, default=None, help="also write the JSON here")

    def handle(self, *args, only: str, out: Path | None, **options) -> None:
        data = shared_data()
        if not data.is_dir():
            raise CommandError(f"real data not found at {data} (set MIA_SHARED_DATA)")
        benches = bench.registry(data)
        wanted = [name.strip() for name in only.split(",") if name.strip()] or list(benches)
        unknown = [name for name in wanted if name not in benches]
        if unknown:
            raise CommandError(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(benches)}")
        results = []
        for name in wanted:
            self.stderr.write(f"bench {name} ...")
            results.append(benches[name]())
        text = json.dumps(results, indent=1)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
        self.stdout.write(text)
