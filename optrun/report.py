"""``optrun report DIR``: one self-contained HTML page for a run, a comparison or a sweep.

The page needs no network: figures are inlined (PNG as ``data:`` URIs, SVG as markup), the
table data is a JSON document inside the page, and the few lines of JavaScript that make the
table sortable and filterable are inline too. It opens from a USB stick or an e-mail
attachment. The page reads only the folder (like the figures, it never re-runs anything).

What a page holds, by the kind of folder:

* a run folder (``summary.json``): the result table (status, loss, f*, f - f*, ...), the
  figures of ``plots/`` with the lecture's captions, the resolved ``config.yaml``, the
  diagnostics and the reference optimum;
* a comparison (``comparison.csv``) or a sweep (``summary.csv``): the ranking / result table
  with one row per run, the overlay figures, and what was varied.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import Any

from optrun.errors import OptrunError
from optrun._text import csv_cell
from optrun.data.files import read_bytes
from optrun.rundir import RunFolder, atomic_write_text, is_run_folder

#: largest table file a report reads (a sweep of 10^5 runs has a summary.csv of ~30 MB)
MAX_TABLE_BYTES = 64 << 20
#: largest figure inlined (bigger ones are linked by name instead)
MAX_FIGURE_BYTES = 16 << 20

#: what each standard figure shows, for a reader who was not in the lecture
CAPTIONS = {
    "loss": "The full-training-set loss after each step. The dashed line is the exact optimum f*, "
            "computed independently of the run: the gap between the curve and the line is how far "
            "the optimizer still is from the best possible fit.",
    "suboptimality": "f - f* on a log axis: a straight line means linear convergence.",
    "grad_norm": "The norm of the full-data gradient: it goes to zero at a minimiser.",
    "params": "Each parameter against the step, with its optimal value θ* as a dashed line.",
    "contour": "Level sets of the loss over two parameters, with the optimizer's path and the optimum θ*. "
               "Gradient steps cross the level sets at right angles.",
    "data": "The data with the fitted model at the end of the run.",
}

_RUN_TABLE_KEYS = ("status", "stop_reason", "steps", "epochs", "final_loss", "f_star", "suboptimality",
                   "grad_norm", "distance_to_theta_star", "r2", "accuracy", "val_loss", "wall_time_s", "seed")


def report_kind(folder: Path) -> str:
    """``run``, ``comparison`` or ``sweep``; OptrunError for anything else."""
    if not folder.is_dir():
        raise OptrunError(f"{folder}: not a folder")
    if is_run_folder(folder):
        return "run"
    if (folder / "comparison.csv").is_file():
        return "comparison"
    if (folder / "summary.csv").is_file() and (folder / "sweep.yaml").is_file():
        return "sweep"
    raise OptrunError(f"{folder}: not a run, comparison or sweep folder "
                      "(no summary.json, comparison.csv or sweep.yaml + summary.csv)")


def _read_text(path: Path, limit: int) -> str:
    """A bounded read of a regular file (a FIFO or a device never blocks a report)."""
    data = read_bytes(path, "file", limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise OptrunError(f"{path}: not UTF-8 text") from None


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        rows = list(csv.reader(io.StringIO(_read_text(path, MAX_TABLE_BYTES))))
    except csv.Error as exc:
        raise OptrunError(f"{path}: not a valid CSV table ({exc})") from None
    if not rows:
        raise OptrunError(f"{path}: empty table")
    header, body = rows[0], [r for r in rows[1:] if r]
    width = len(header)
    bad = next((i for i, r in enumerate(body, 2) if len(r) != width), None)
    if bad is not None:
        raise OptrunError(f"{path}: line {bad} has a different number of cells than the header")
    return header, body


def _figures(folder: Path) -> list[dict]:
    plots = folder / "plots"
    if not plots.is_dir():
        return []
    figures = []
    for path in sorted(plots.iterdir()):
        if path.suffix.lower() not in (".png", ".svg") or not path.is_file():
            continue
        size = path.stat().st_size
        fig = {"name": path.stem, "file": f"plots/{path.name}", "caption": CAPTIONS.get(path.stem, "")}
        if size > MAX_FIGURE_BYTES:
            fig["link"] = True
        elif path.suffix.lower() == ".png":
            fig["src"] = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        else:
            fig["svg"] = _read_text(path, MAX_FIGURE_BYTES)
        figures.append(fig)
    return figures


def _cell(v: Any) -> str:
    return str(csv_cell(v))  # the table cells read like the CSV files


def _run_sections(folder: Path) -> dict:
    run = RunFolder(folder).require()
    s = run.summary
    header = ["quantity", "value"]
    rows = [[k, _cell(s.get(k))] for k in _RUN_TABLE_KEYS if k in s]
    theta = s.get("theta_star") or {}
    params = s.get("params") or {}
    ref_rows = [[name, _cell(params.get(name)), _cell(theta.get(name))] for name in params]
    config_text = _read_text(folder / "config.yaml", 1 << 20) if (folder / "config.yaml").is_file() else ""
    return {
        "title": f"Run {s.get('name', folder.name)}",
        "subtitle": f"status {s.get('status', '?')} · {s.get('stop_reason') or ''}",
        "table": {"header": header, "rows": rows},
        "reference": {"header": ["parameter", "final θ", "θ*"], "rows": ref_rows},
        "config": config_text,
        "diagnostics": json.dumps(s.get("diagnostics") or {}, indent=2),
    }


def _many_sections(folder: Path, kind: str) -> dict:
    table = folder / ("comparison.csv" if kind == "comparison" else "summary.csv")
    header, rows = _read_table(table)
    meta_file = folder / ("comparison.json" if kind == "comparison" else "sweep.yaml")
    meta = _read_text(meta_file, 1 << 20) if meta_file.is_file() else ""
    return {
        "title": f"{kind.capitalize()} {folder.name}",
        "subtitle": f"{len(rows)} runs",
        "table": {"header": header, "rows": rows},
        "reference": None,
        "config": meta,
        "diagnostics": "",
    }


def build_report(folder: str | Path) -> str:
    """The HTML text of the report of ``folder`` (a run, comparison or sweep folder)."""
    folder = Path(folder)
    kind = report_kind(folder)
    page = _run_sections(folder) if kind == "run" else _many_sections(folder, kind)
    page["kind"] = kind
    page["figures"] = _figures(folder)
    return _render(page)


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of ``folder`` to ``out`` (default ``folder/report.html``), atomically."""
    folder = Path(folder)
    text = build_report(folder)
    target = Path(out) if out is not None else folder / "report.html"
    if target.is_dir():
        raise OptrunError(f"{target}: is a folder; give a file name for the report")
    if not target.parent.is_dir():
        raise OptrunError(f"{target.parent}: folder not found")
    atomic_write_text(target, text)
    return target


# --------------------------------------------------------------------------------------------
# The page


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _json_for_script(data: Any) -> str:
    # "</" inside a <script> would end it early; \u003c keeps the JSON valid and inert
    return json.dumps(data).replace("<", "\\u003c")


def _figure_html(fig: dict) -> str:
    caption = f"<figcaption><b>{_esc(fig['name'])}</b> {_esc(fig['caption'])}</figcaption>"
    if fig.get("link"):
        body = f"<p>Figure too large to inline: <code>{_esc(fig['file'])}</code></p>"
    elif "svg" in fig:
        body = fig["svg"][fig["svg"].find("<svg"):] if "<svg" in fig["svg"] else ""
    else:
        body = f'<img alt="{_esc(fig["name"])}" src="{fig["src"]}">'
    return f'<figure class="fig" data-name="{_esc(fig["name"])}">{body}{caption}</figure>'


def _render(page: dict) -> str:
    figures = "\n".join(_figure_html(f) for f in page["figures"]) or "<p>No figures in this folder.</p>"
    ref = page.get("reference")
    ref_html = ""
    if ref and ref["rows"]:
        rows = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in ref["rows"])
        head = "".join(f"<th>{_esc(h)}</th>" for h in ref["header"])
        ref_html = f"<h2>Reference optimum</h2><table class='plain'><tr>{head}</tr>{rows}</table>"
    diag = f"<h2>Diagnostics</h2><pre>{_esc(page['diagnostics'])}</pre>" if page.get("diagnostics") else ""
    config = f"<h2>Configuration</h2><pre>{_esc(page['config'])}</pre>" if page.get("config") else ""
    return _TEMPLATE.format(
        title=_esc(page["title"]), subtitle=_esc(page["subtitle"]), kind=_esc(page["kind"]),
        figures=figures, reference=ref_html, diagnostics=diag, config=config,
        data=_json_for_script(page["table"]), script=_SCRIPT, style=_STYLE,
    )


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}
#results th{cursor:pointer;background:#f3f3f3;user-select:none}
#results th.asc::after{content:" \\25B2"}#results th.desc::after{content:" \\25BC"}
.figs{display:flex;flex-wrap:wrap;gap:1em}.fig{margin:0;max-width:100%}
.fig img,.fig svg{max-width:100%;height:auto}figcaption{font-size:.9em;color:#444;max-width:60em}
pre{background:#f7f7f7;padding:.7em;overflow:auto;font-size:.85em}#errors:empty{display:none}
#errors{color:#b00}
"""

# Inline, dependency-free: build the table from the JSON, sort on a header click (numbers as
# numbers, empty cells last), filter rows by a substring. Errors land in #errors (for the tests).
_SCRIPT = """
(function(){
  var errors=document.getElementById('errors');
  window.addEventListener('error',function(e){errors.textContent+=String(e.message)+'\\n';});
  var data=JSON.parse(document.getElementById('table-data').textContent);
  var table=document.getElementById('results'), filter=document.getElementById('filter');
  var order=data.rows.map(function(r,i){return i;}), sortCol=-1, asc=true;
  function num(s){return s!==''&&isFinite(Number(s))?Number(s):null;}
  function head(){
    var tr=document.createElement('tr');
    data.header.forEach(function(h,j){
      var th=document.createElement('th');th.textContent=h;
      if(j===sortCol){th.className=asc?'asc':'desc';}
      th.addEventListener('click',function(){asc=(sortCol===j)?!asc:true;sortCol=j;sort();draw();});
      tr.appendChild(th);});
    return tr;
  }
  function sort(){
    order.sort(function(a,b){
      var x=data.rows[a][sortCol], y=data.rows[b][sortCol];
      if(x===''&&y!=='')return 1; if(y===''&&x!=='')return -1;
      var nx=num(x), ny=num(y), c;
      c=(nx!==null&&ny!==null)?(nx-ny):String(x).localeCompare(String(y));
      return asc?c:-c;});
  }
  function draw(){
    var q=filter.value.toLowerCase(), shown=0;
    table.innerHTML='';
    var thead=document.createElement('thead');thead.appendChild(head());table.appendChild(thead);
    var tbody=document.createElement('tbody');
    order.forEach(function(i){
      var r=data.rows[i];
      if(q&&r.join(' ').toLowerCase().indexOf(q)<0)return;
      var tr=document.createElement('tr');
      r.forEach(function(c){var td=document.createElement('td');td.textContent=c;tr.appendChild(td);});
      tbody.appendChild(tr);shown++;});
    table.appendChild(tbody);
    document.getElementById('count').textContent=shown+' of '+data.rows.length+' rows';
  }
  filter.addEventListener('input',draw);
  draw();
  document.body.setAttribute('data-ready','1');
})();
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="optrun report">
<title>{title}</title><style>{style}</style></head>
<body data-kind="{kind}">
<h1>{title}</h1><p class="sub">{subtitle}</p>
<pre id="errors"></pre>
<h2>Results</h2>
<p><input id="filter" type="search" placeholder="filter rows"> <span id="count"></span></p>
<div style="overflow-x:auto"><table id="results"></table></div>
<script type="application/json" id="table-data">{data}</script>
<h2>Figures</h2><div class="figs">{figures}</div>
{reference}{diagnostics}{config}
<script>{script}</script>
</body></html>
"""
