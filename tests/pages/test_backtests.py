"""Backtest pages: launch (operator), eager run to done with the contract summary and files,
viewers read only, cancel, upload validation and path safety."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import csrf_token
from tests.shared_data import shared_data
from trading.engine.backtest import SUMMARY_KEYS
from trading.jobs import backtests as jobs
from trading.models import BacktestRun

DATA_NAME = "es_1min_frontmonth_lean_DERIVED.csv"
TRADES_HEADER = "entry_time,exit_time,side,qty,entry_price,exit_price,pnl_usd,commission_usd,exit_reason"


@pytest.fixture
def var_dir(tmp_path, settings) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    (settings.VAR_DIR / "data").mkdir(parents=True)
    return settings.VAR_DIR


@pytest.fixture
def real_file(var_dir) -> str:
    shutil.copy(shared_data() / "es" / DATA_NAME, var_dir / "data" / DATA_NAME)
    return DATA_NAME


def form(**over: object) -> dict:
    base = {"existing": "", "format": "auto", "start": "", "end": "", "strategy": "sma_cross", "fast": "10",
            "slow": "30", "equity_start": "50000"}
    return {**base, **over}


def launch(client, data: dict, captured):
    with captured(execute=True):
        return client.post("/backtests/", {**data, "csrfmiddlewaretoken": csrf_token(client)})


@pytest.mark.realdata
def test_operator_launch_runs_to_done_with_summary_report_and_csvs(operator_client, real_file, var_dir,
                                                                   django_capture_on_commit_callbacks):
    response = launch(operator_client, form(existing=real_file), django_capture_on_commit_callbacks)
    run = BacktestRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/backtests/{run.pk}/"
    assert run.status == "done", run.message
    assert run.progress == 1.0 and run.user.username == "oscar" and run.data_path == DATA_NAME
    assert list(run.result)[:len(SUMMARY_KEYS)] == list(SUMMARY_KEYS)
    assert run.result["bars"] > 19_000 and run.result["trades"] > 0
    out = var_dir / "backtests" / str(run.pk)
    assert Path(run.report_path) == out / "report.html" and (out / "report.html").is_file()
    report = operator_client.get(f"/backtests/{run.pk}/report/")
    body = b"".join(report.streaming_content)
    assert report.status_code == 200 and report["Content-Type"].startswith("text/html")
    assert b"Plotly.newPlot" in body and report["X-Frame-Options"] == "SAMEORIGIN"
    trades = operator_client.get(f"/backtests/{run.pk}/trades.csv")
    rows = list(csv.reader(io.StringIO(b"".join(trades.streaming_content).decode())))
    assert ",".join(rows[0]) == TRADES_HEADER and len(rows) == run.result["trades"] + 1
    assert "attachment" in trades["Content-Disposition"]
    equity = b"".join(operator_client.get(f"/backtests/{run.pk}/equity.csv").streaming_content).decode()
    assert equity.startswith("timestamp,equity_usd\n")
    page = operator_client.get(f"/backtests/{run.pk}/").content.decode()
    assert 'data-status="done"' in page and "every 1s" not in page  # polling stops once finished
    assert 'data-key="net_pnl_usd"' in page and f"/backtests/{run.pk}/report/" in page
    listing = operator_client.get("/backtests/").content.decode()
    assert f'href="/backtests/{run.pk}/"' in listing


@pytest.mark.realdata
def test_confluence_over_a_date_range(operator_client, real_file, django_capture_on_commit_callbacks):
    data = form(existing=real_file, strategy="confluence", start="2013-12-01", end="2013-12-31")
    launch(operator_client, data, django_capture_on_commit_callbacks)
    run = BacktestRun.objects.get()
    assert run.status == "done", run.message
    assert run.result["start"] >= "2013-12-01" and run.result["end"] < "2014-01-01" and run.result["bars"] > 1000


def test_upload_is_stored_in_var_data_and_run(operator_client, var_dir, django_capture_on_commit_callbacks):
    lines = ["timestamp,open,high,low,close,volume"]
    for i in range(60):
        price = 4800 + (i % 7) * 0.25
        lines.append(f"2024-01-10T15:{i:02d}:00Z,{price},{price + 0.5},{price - 0.5},{price},100")
    upload = SimpleUploadedFile("my bars.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")
    launch(operator_client, form(upload=upload, fast="2", slow="5"), django_capture_on_commit_callbacks)
    run = BacktestRun.objects.get()
    assert run.data_path == "my_bars.csv" and (var_dir / "data" / "my_bars.csv").is_file()
    assert run.status == "done", run.message


def test_viewer_reads_the_list_but_cannot_launch(viewer_client, real_file, django_capture_on_commit_callbacks):
    page = viewer_client.get("/backtests/").content.decode()
    assert 'id="bt-form"' not in page and "needs the operator role" in page
    response = launch(viewer_client, form(existing=real_file), django_capture_on_commit_callbacks)
    assert response.status_code == 403 and not BacktestRun.objects.exists()


def test_viewer_cannot_cancel(viewer_client, db, var_dir):
    run = BacktestRun.objects.create(data_path="x.csv", options={"strategy": "sma_cross"})
    response = viewer_client.post(f"/backtests/{run.pk}/cancel/", {"csrfmiddlewaretoken": csrf_token(viewer_client)})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == "queued" and not run.cancel_requested


def test_cancel_of_a_queued_run_is_immediate(operator_client, db, var_dir):
    run = BacktestRun.objects.create(data_path="x.csv", options={"strategy": "sma_cross"})
    page = operator_client.get(f"/backtests/{run.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and 'id="bt-cancel"' in page
    response = operator_client.post(f"/backtests/{run.pk}/cancel/",
                                    {"csrfmiddlewaretoken": csrf_token(operator_client)}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-status="cancelled"' in response.content.decode()
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert jobs.execute_run(run.pk) is None  # the task, arriving later, leaves it alone


def test_progress_callback_stops_a_run_once_cancel_is_requested(db):
    run = BacktestRun.objects.create(data_path="x.csv", options={}, status="running")
    report = jobs.ProgressReporter(run.pk, total=1000)
    report(500)
    run.refresh_from_db()
    assert run.progress == pytest.approx(0.05 + 0.9 * 0.5)
    jobs.request_cancel(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "running" and run.cancel_requested
    with pytest.raises(jobs.Cancelled):
        report(100)


def test_progress_is_saved_at_most_every_two_percent(db, django_assert_num_queries):
    run = BacktestRun.objects.create(data_path="x.csv", options={}, status="running")
    report = jobs.ProgressReporter(run.pk, total=10_000)
    report(200)  # 2 %: saved (one cancel check, one update)
    with django_assert_num_queries(0):
        report(100)  # 3 %: less than 2 % since the last save
    run.refresh_from_db()
    assert run.progress == pytest.approx(0.05 + 0.9 * 0.02)


def test_a_cancel_during_the_run_ends_it_as_cancelled(db, real_file, monkeypatch):
    run = jobs.create_run(user=None, data_name=real_file, options={"strategy": "sma_cross"})

    def cancelled_midway(bars, config, *, progress):
        jobs.request_cancel(run_id=run.pk)  # the operator presses Cancel while the simulation runs
        progress(len(bars) // 2)
        raise AssertionError("the progress callback should have stopped the run")

    monkeypatch.setattr(jobs, "run_backtest", cancelled_midway)
    assert jobs.execute_run(run.pk) == "cancelled"
    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished_at is not None and not run.report_path
    assert not (Path(jobs.run_dir(run)) / "report.html").exists()


def test_a_bad_file_fails_with_a_one_line_reason(db, var_dir):
    (var_dir / "data" / "bad.csv").write_text("hello,world\n1,2\n")
    run = jobs.create_run(user=None, data_name="bad.csv", options={"strategy": "sma_cross"})
    assert jobs.execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and run.message and "\n" not in run.message


@pytest.mark.parametrize(("name", "content"), [
    ("bars.exe", b"timestamp,open,high,low,close,volume\n"),
    ("bars.zip", b"PK\x03\x04\x00\x00"),
    ("bars.csv", b"\x7fELF\x02\x01\x01\x00\x00\x00binary"),
])
def test_upload_refuses_what_is_not_a_csv(operator_client, var_dir, name, content,
                                          django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile(name, content)
    response = launch(operator_client, form(upload=upload), django_capture_on_commit_callbacks)
    assert response.status_code == 400 and not BacktestRun.objects.exists()
    assert list((var_dir / "data").iterdir()) == []


def test_upload_names_cannot_leave_var_data(var_dir, tmp_path):
    upload = SimpleUploadedFile("../../escape.csv", b"timestamp,open,high,low,close,volume\n")
    upload.name = "../../escape.csv"  # as a hostile client would send it
    assert jobs.save_upload(upload) == "escape.csv"
    assert (var_dir / "data" / "escape.csv").is_file()
    assert not (tmp_path / "escape.csv").exists() and not (var_dir / "escape.csv").exists()


@pytest.mark.parametrize("name", ["../secret_key", "../../etc/passwd.csv", "/etc/passwd.csv", ".hidden.csv",
                                  "sub/dir.csv", "notes.md", ""])
def test_only_plain_data_file_names_resolve(var_dir, name):
    (var_dir / "secret_key").write_text("x")
    with pytest.raises(jobs.BacktestInputError):
        jobs.resolve_data_file(name)


def test_a_symlink_out_of_var_data_is_refused(var_dir, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("timestamp,open,high,low,close,volume\n")
    (var_dir / "data" / "link.csv").symlink_to(outside)
    with pytest.raises(jobs.BacktestInputError, match="outside"):
        jobs.resolve_data_file("link.csv")


def test_picking_a_path_outside_var_data_is_refused(operator_client, var_dir, django_capture_on_commit_callbacks):
    (var_dir / "secret.csv").write_text("timestamp,open,high,low,close,volume\n")
    response = launch(operator_client, form(existing="../secret.csv"), django_capture_on_commit_callbacks)
    assert response.status_code == 400 and not BacktestRun.objects.exists()


def test_bad_options_are_refused(operator_client, real_file, django_capture_on_commit_callbacks):
    response = launch(operator_client, form(existing=real_file, fast="30", slow="10"),
                      django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "fast SMA must be shorter" in response.content.decode()
    response = launch(operator_client, form(existing=real_file, start="2020-01-05", end="2020-01-01"),
                      django_capture_on_commit_callbacks)
    assert response.status_code == 400 and not BacktestRun.objects.exists()


def test_outputs_of_an_unfinished_run_are_404(viewer_client, db, var_dir):
    run = BacktestRun.objects.create(data_path="x.csv", options={"strategy": "sma_cross"})
    for url in ("report/", "trades.csv", "equity.csv", "other.csv"):
        assert viewer_client.get(f"/backtests/{run.pk}/{url}").status_code == 404


def test_the_task_routes_to_the_default_queue(settings):
    from celery import current_app

    route = current_app.amqp.router.route({}, jobs.backtest_run.name)
    assert jobs.backtest_run.name == "mia.backtest_run" and route["queue"].name == "default"
