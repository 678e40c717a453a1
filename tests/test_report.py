"""``optrun report``: one self-contained HTML page, checked as text and in a real browser.

The browser test loads the page in headless Chromium (Debian's ``chromium``, installed by
``.ci/run``), lets its inline script build the table, and reads the rendered DOM back: the
table has one row per run, the script signalled it finished (``data-ready``), and no error
reached the page's error box. Locally without Chromium it is skipped; under CI it must run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from optrun.cli.app import app

CONFIG = {
    "name": "rep</script><b>x",  # a hostile name must not break the page
    "seed": 0,
    "dataset": "women",
    "model": "linear",
    "loss": "half_mse",
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch": "full",
    "train": {"steps": 20},
}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    cfg = root / "c.yaml"
    cfg.write_text(yaml.safe_dump({**CONFIG, "dataset": {"name": "women", "standardize": True}}))
    r = invoke("train", cfg, "--out", root / "t", "--json")
    assert r.exit_code == 0, r.output
    run = Path(json.loads(r.stdout)["run_dir"])
    r = invoke("compare", cfg, "--vary", "optimizer=sgd:lr=0.1,adam:lr=0.1,momentum:lr=0.05", "--out", root / "c", "-q")
    assert r.exit_code == 0, r.output
    comp = next((root / "c").iterdir())
    return run, comp


def test_run_report_is_self_contained(folders):
    run, _ = folders
    r = invoke("report", run)
    assert r.exit_code == 0, r.output
    path = Path(r.stdout.strip())
    assert path == run / "report.html"
    text = path.read_text()
    # every figure inline, nothing fetched from anywhere
    n_png = len(list((run / "plots").glob("*.png")))
    assert n_png >= 3 and text.count('src="data:image/png;base64,') == n_png
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<script src" not in text and "<link" not in text
    # the table, the reference optimum and the resolved config are there
    data = json.loads(re.search(r'id="table-data">(.*?)</script>', text, re.S).group(1))
    table = dict(data["rows"])
    summary = json.loads((run / "summary.json").read_text())
    assert table["status"] == "completed" and float(table["f_star"]) == summary["f_star"]
    assert "Reference optimum" in text and "optimizer:" in text
    # the hostile name is escaped: only our own two script elements exist
    assert text.count("<script") == 2 and "&lt;/script&gt;&lt;b&gt;x" in text


def test_comparison_report_out_file_and_json(folders, tmp_path):
    _, comp = folders
    target = tmp_path / "page.html"
    r = invoke("report", comp, "--out", target, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"report": str(target)}
    text = target.read_text()
    data = json.loads(re.search(r'id="table-data">(.*?)</script>', text, re.S).group(1))
    assert len(data["rows"]) == 3 and data["header"][0] == "optimizer"
    assert not (comp / "report.html").exists()


@pytest.mark.parametrize("damage", ["missing", "ragged", "fifo", "binary", "file"])
def test_bad_folders_exit_2_one_line(folders, tmp_path, damage):
    _, comp = folders
    bad = tmp_path / "bad"
    shutil.copytree(comp, bad, ignore=shutil.ignore_patterns("2*"))
    csv = bad / "comparison.csv"
    if damage == "missing":
        target = tmp_path / "nothing-here"
    elif damage == "ragged":
        csv.write_text(csv.read_text() + "1,2,3\n")
        target = bad
    elif damage == "fifo":
        csv.unlink()
        os.mkfifo(csv)  # a reader that opened it would block forever
        target = bad
    elif damage == "binary":
        csv.write_bytes(b"\xff\xfe\x00garbage")
        target = bad
    else:
        target = csv
    r = invoke("report", target)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: ") and r.output.count("\n") == 1
    assert not (bad / "report.html").exists()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_report_renders_in_headless_chromium(folders, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (.ci/run) for the browser test")
        pytest.skip("no chromium on this machine (CI installs it)")
    _, comp = folders
    r = invoke("report", comp)
    assert r.exit_code == 0, r.output
    page = comp / "report.html"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=90,
    )
    dom = proc.stdout
    assert 'data-ready="1"' in dom, proc.stderr[-2000:]
    assert re.search(r'<pre id="errors"></pre>', dom), "the page reported a script error"
    body = re.search(r'<table id="results">(.*?)</table>', dom, re.S).group(1)
    assert body.count("<tr>") == 1 + 3  # header + one row per run
    for name in ("sgd lr=0.1", "adam lr=0.1", "momentum lr=0.05"):
        assert name in body
    assert "3 of 3 rows" in dom
    assert dom.count("<img") == len(list((comp / "plots").glob("*.png")))
