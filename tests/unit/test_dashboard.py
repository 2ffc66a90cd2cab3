"""The shipped Grafana dashboard charts only metrics the server and the agents expose."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_metric_the_dashboard_queries_is_one_we_expose() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dockyard.json").read_text())
    exposed = (ROOT / "controlplane" / "metrics.py").read_text() + (
        ROOT / "agent" / "metrics.py").read_text()
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\bdockyard_[a-z_]+", target["expr"]):
                queried.add(re.sub(r"_(bucket|count|sum)$", "", name))
    assert len(queried) >= 15
    for name in sorted(queried):
        assert f'"{name}"' in exposed, f"the dashboard queries {name}, which nothing exposes"
