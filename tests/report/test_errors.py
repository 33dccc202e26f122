"""`gridshift report`'s errors that need no running loop: Prometheus unreachable, bad arguments, no
matplotlib. Each is one line on stderr naming the cause, a non-zero status, and nothing written."""

from __future__ import annotations

import importlib.util

import pytest

from gridshift.cli import main
from gridshift.demo.processes import free_port


def test_unreachable_prometheus_is_a_clear_error(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"
    status = main(["report", "--namespace", "team-batch", "--prometheus", url, "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert status == 1 and f"cannot reach Prometheus at {url}" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("args", "says"), [
    (["--from", "now", "--to", "now-1h"], "bad time range: --from"),
    (["--from", "last tuesday"], "not a time"),
    (["--from", "2025-06-01T00:00:00"], "no UTC offset"),
    (["--namespace", "Team_A"], "not a namespace name"),
])
def test_bad_arguments_are_refused_before_anything_is_read(args, says, tmp_path, capsys):
    assert main(["report", "--namespace", "team-batch", "--prometheus", "http://127.0.0.1:9", *args,
                 "--out", str(tmp_path / "out")]) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_without_matplotlib_the_error_names_the_extra(monkeypatch, tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert main(["report", "--namespace", "team-batch", "--out", str(tmp_path / "out")]) == 2
    assert "pip install 'gridshift[report]'" in capsys.readouterr().err
