"""`manage.py options_snapshot`: the DESIGN §5 JSON contract, --save, and bad input."""

from __future__ import annotations

import csv
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from options.models import OptionsSnapshot
from tests.options_app.conftest import NICK, chain_file, chain_file_names
from tests.shared_data import shared_data

CLI_KEYS = ["underlying", "spot", "asof", "contracts", "total_gex_bn", "total_gex_model_bn", "gamma_flip",
            "call_wall", "put_wall", "pcr_oi", "pcr_volume", "dealer_bias_score"]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("options_snapshot", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_has_exactly_the_contract_keys_and_the_reference_numbers(db):
    out, _ = run("--cboe", str(chain_file(NICK)), "--json")
    data = json.loads(out)
    assert list(data) == CLI_KEYS
    assert data["underlying"] == "SPX" and data["spot"] == pytest.approx(3856.28)
    assert data["total_gex_bn"] == pytest.approx(-17.49, abs=0.01)
    assert data["gamma_flip"] == pytest.approx(3984, rel=0.005)
    assert data["contracts"] > 19000 and 0 <= data["dealer_bias_score"] <= 1
    assert data["asof"].startswith("2022-07-12T15:55")
    assert OptionsSnapshot.objects.count() == 0  # no --save, nothing stored


def test_every_shared_chain_file_exits_zero(db):
    names = chain_file_names()
    assert len(names) >= 5, f"expected the CBOE chain downloads under {shared_data() / 'options'}"
    for name in names:
        data = json.loads(run("--cboe", str(chain_file(name)), "--json")[0])
        assert set(data) == set(CLI_KEYS), name
        assert data["gamma_flip"] is not None and data["contracts"] > 0, name


def test_without_json_prints_a_short_human_summary(db):
    out, _ = run("--cboe", str(chain_file(NICK)))
    assert "gamma flip" in out and "dealer bias" in out and len(out.splitlines()) <= 6
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_vix_changes_the_score_and_can_come_from_the_vix_file(db):
    path = str(chain_file(NICK))
    vix_file = shared_data() / "vix" / "vix-daily_1990-2026_datasets-finance-vix.csv"
    plain = json.loads(run("--cboe", path, "--json")[0])["dealer_bias_score"]
    calm = json.loads(run("--cboe", path, "--json", "--vix", "12")[0])["dealer_bias_score"]
    from_file = json.loads(run("--cboe", path, "--json", "--vix-file", str(vix_file))[0])["dealer_bias_score"]
    assert calm != plain
    assert from_file != plain and from_file != calm  # VIX closed at 27.29 on 2022-07-12


@pytest.mark.parametrize("content", ["", "hello,world\n", "SPX,Last: abc\n", "Standard & Poors 500 Index,Last: 4000\n"])
def test_a_bad_file_fails_with_one_line_and_stores_nothing(db, tmp_path, content):
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    with pytest.raises(CommandError) as info:
        run("--cboe", str(bad), "--save", "--json")
    assert "\n" not in str(info.value) and str(bad) in str(info.value)
    assert OptionsSnapshot.objects.count() == 0
    assert not (tmp_path / "options_snapshots").exists() and not (tmp_path / "overlays").exists()


def test_a_missing_file_fails_with_one_line(db, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("--cboe", str(tmp_path / "nope.csv"), "--save")
    assert OptionsSnapshot.objects.count() == 0


def test_a_chain_with_a_header_but_no_contracts_fails_and_stores_nothing(db, tmp_path):
    lines = chain_file(NICK).read_text().splitlines()[:4]  # title, date, header, first data line
    empty = tmp_path / "empty.csv"
    empty.write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(CommandError, match="no contracts"):
        run("--cboe", str(empty), "--save")
    assert OptionsSnapshot.objects.count() == 0


def test_the_cli_exits_non_zero_from_a_shell(db, tmp_path):
    from django.core.management import execute_from_command_line

    bad = tmp_path / "bad.csv"
    bad.write_text("nothing here\n")
    with pytest.raises(SystemExit) as info:
        execute_from_command_line(["manage.py", "options_snapshot", "--cboe", str(bad)])
    assert info.value.code != 0


def test_save_stores_the_row_the_parquet_and_the_overlay_in_es_prices(db, options_env, pushes,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out, err = run("--cboe", str(chain_file(NICK)), "--save", "--json")
    row = OptionsSnapshot.objects.get()
    data = json.loads(out)
    assert row.source == "cboe" and row.valid and not row.simulated
    assert row.gamma_flip == pytest.approx(data["gamma_flip"]) and row.total_gex_bn == pytest.approx(-17.49, abs=0.01)
    assert row.profile and row.cycles["expiries"] and row.bias_components
    parquet = options_env / "options_snapshots" / "SPX_20220712T155500.parquet"
    assert row.chain_path == str(parquet) and parquet.exists()
    import pyarrow.parquet as pq

    assert pq.read_table(parquet).num_rows == row.contracts
    with open(options_env / "overlays" / "levels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_label = {r["label"]: float(r["price"]) for r in rows}
    basis = 15.0  # BiasSettings default: the CBOE file carries no ES price
    assert by_label["SPX gamma flip"] == pytest.approx(round((row.gamma_flip + basis) * 4) / 4)
    assert by_label["SPX call wall"] == row.call_wall + basis
    assert by_label["SPX put wall"] == row.put_wall + basis
    assert [kind for kind, _ in pushes] == ["bias"]


def test_saving_the_same_file_twice_keeps_one_row(db, django_capture_on_commit_callbacks, pushes):
    path = str(chain_file(NICK))
    with django_capture_on_commit_callbacks(execute=True):
        run("--cboe", path, "--save")
        run("--cboe", path, "--save")
    assert OptionsSnapshot.objects.count() == 1
