"""The Options page at /options/."""

from __future__ import annotations

import datetime as dt
import json
import re

from tests.options_app.conftest import make_snapshot

T = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)


def test_the_page_needs_a_login(anon_client, db):
    response = anon_client.get("/options/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_viewer_sees_the_charts_the_bias_and_the_cycles(viewer_client, db):
    make_snapshot(T - dt.timedelta(minutes=5), 0.55, gamma_flip=5790.0)
    make_snapshot(T, 0.62, gamma_flip=5791.0, call_wall=5850.0, put_wall=5700.0, es_basis=15.0, simulated=True,
                  profile=[{"strike": 5800.0, "total_gex_bn": 1.5}],
                  cycles={"expiries": [{"expiry": "2025-03-04", "max_pain": 5800.0, "risk_reversal": -0.04}],
                          "share_0dte": 0.3, "calendar": {"days_to_monthly_opex": 17}})
    response = viewer_client.get("/options/")
    assert response.status_code == 200
    page = response.content.decode()
    for needle in ('id="gex-chart"', 'id="bias-chart"', "plotly.min.js", "js/options.js", "0.620", "Max pain",
                   "SPX call wall 5865.00", "SIMULATED DATA", 'data-underlying="NDX"'):
        assert needle in page, needle
    initial = json.loads(re.search(r'id="options-initial" type="application/json">(.*?)</script>', page).group(1))
    assert initial["SPX"]["history"]["score"] == [0.55, 0.62]
    assert initial["SPX"]["latest"]["profile"] == {"strike": [5800.0], "gex_bn": [1.5]}
    assert initial["SPX"]["latest"]["cycles"]["days_to_opex"] == 17
    assert initial["NDX"]["latest"] is None


def test_the_page_renders_with_no_snapshots(viewer_client, db):
    response = viewer_client.get("/options/?underlying=NDX")
    assert response.status_code == 200 and '"NDX"' in response.content.decode()
