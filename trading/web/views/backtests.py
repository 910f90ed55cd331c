"""Backtest pages: launch (operator and above), list, live progress, cancel, report and CSV downloads.

Progress is the one thing in the UI that polls: the detail page's status partial re-fetches itself
every second while the run is queued or running, and stops once the run has finished.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trading import roles
from trading.engine.backtest import strategy_names
from trading.jobs import backtests as jobs
from trading.models import BacktestRun


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """403 for users below operator (the login itself is enforced by the middleware)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not roles.has_role(request.user, roles.OPERATOR):
            return HttpResponseForbidden("Launching or cancelling a backtest needs the operator role.")
        return view(request, *args, **kwargs)

    return wrapped


class BacktestForm(forms.Form):
    upload = forms.FileField(required=False, label="Upload a bar file",
                             help_text="CSV or TXT (headed OHLCV, NinjaTrader, Sierra Chart); saved in var/data/")
    existing = forms.ChoiceField(required=False, label="or pick one in var/data/")
    format = forms.ChoiceField(choices=[(f, f) for f in jobs.FORMATS], initial="auto")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="inclusive, UTC")
    strategy = forms.ChoiceField()
    fast = forms.IntegerField(min_value=1, max_value=100_000, initial=10, label="SMA fast")
    slow = forms.IntegerField(min_value=1, max_value=100_000, initial=30, label="SMA slow")
    equity_start = forms.FloatField(min_value=1, max_value=1e11, initial=50_000, label="Starting equity (USD)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        files = jobs.list_data_files()
        self.fields["existing"].choices = [("", "—")] + [(f["name"], f"{f['name']} ({f['size'] / 1e6:.1f} MB)")
                                                          for f in files]
        self.fields["strategy"].choices = [(s, s) for s in strategy_names()]
        self.fields["strategy"].initial = "confluence"

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if upload is not None:
            name = upload.name or ""
            if not name.lower().endswith(jobs.ALLOWED_EXTENSIONS):
                raise forms.ValidationError(f"Only {', '.join(jobs.ALLOWED_EXTENSIONS)} bar files are accepted.")
            if upload.size > jobs.MAX_UPLOAD_BYTES:
                raise forms.ValidationError(f"The file is larger than {jobs.MAX_UPLOAD_BYTES // 2**20} MB.")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("upload")) == bool(data.get("existing")):
            raise forms.ValidationError("Upload a file or pick an existing one (one of the two).")
        try:
            data["options"] = jobs.clean_options({k: data.get(k) for k in ("strategy", "format", "fast", "slow",
                                                                           "equity_start", "start", "end")})
        except jobs.BacktestInputError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


def _list_context(form: BacktestForm | None) -> dict[str, Any]:
    return {"form": form, "runs": BacktestRun.objects.select_related("user")[:100]}


@require_http_methods(["GET", "POST"])
def backtests(request: HttpRequest) -> HttpResponse:
    can_launch = roles.has_role(request.user, roles.OPERATOR)
    if request.method == "GET":
        return render(request, "trading/backtests.html", _list_context(BacktestForm() if can_launch else None))
    if not can_launch:
        return HttpResponseForbidden("Launching a backtest needs the operator role.")
    form = BacktestForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            upload = form.cleaned_data.get("upload")
            name = jobs.save_upload(upload) if upload else form.cleaned_data["existing"]
            run = jobs.create_run(user=request.user, data_name=name, options=form.cleaned_data["options"])
        except jobs.BacktestInputError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("backtest-detail", pk=run.pk)
    return render(request, "trading/backtests.html", _list_context(form), status=400)


@require_GET
def backtest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BacktestRun.objects.select_related("user"), pk=pk)
    return render(request, "trading/backtest_detail.html", {"run": run})


@require_GET
def backtest_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the detail page (htmx): progress while active, the results once done."""
    run = get_object_or_404(BacktestRun, pk=pk)
    return render(request, "trading/_bt_status.html", {"run": run})


@require_POST
@operator_required
def backtest_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(BacktestRun, pk=pk)
    run = jobs.request_cancel(run_id=pk)
    if request.htmx:
        return render(request, "trading/_bt_status.html", {"run": run})
    return redirect("backtest-detail", pk=pk)


def _output(pk: int, kind: str) -> Any:
    run = get_object_or_404(BacktestRun, pk=pk)
    path = jobs.output_file(run, kind)
    if path is None:
        raise Http404("this run has no such output")
    return run, path


@require_GET
@xframe_options_sameorigin  # the detail page embeds the report in an iframe
def backtest_report(request: HttpRequest, pk: int) -> FileResponse:
    _, path = _output(pk, "report")
    return FileResponse(path.open("rb"), content_type="text/html; charset=utf-8")


@require_GET
def backtest_download(request: HttpRequest, pk: int, kind: str) -> FileResponse:
    if kind not in ("trades", "equity"):
        raise Http404
    run, path = _output(pk, kind)
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"backtest-{run.pk}-{kind}.csv",
                        content_type="text/csv")
