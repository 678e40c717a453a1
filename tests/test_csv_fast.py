"""The CSV fast pass (pandas) against the careful pass (csv module + float()): the same numbers bit
for bit, the same lines, the same messages, token by token and on whole files."""

from __future__ import annotations

import numpy as np
import pytest

from optrun.data import csv as csv_mod
from optrun.errors import OptrunError


def _outcome(path, **kw):
    """What ``read_csv_lines`` gives: the arrays (as bits) or the message."""
    try:
        X, y, feats, target, lines = csv_mod.read_csv_lines(path, **kw)
    except OptrunError as e:
        return str(e)
    return X.tobytes(), X.shape, y.tobytes(), feats, target, list(lines)


def _both(path, monkeypatch, **kw):
    """(careful, fast-or-its-fallback) outcomes of one file."""
    careful = _outcome(path, **kw)
    monkeypatch.setattr(csv_mod, "FAST_MIN_BYTES", 0)
    fast = _outcome(path, **kw)
    monkeypatch.undo()
    return careful, fast


def _fast_only(monkeypatch):
    """Make the careful pass fail loudly: the fast pass must have answered alone."""
    monkeypatch.setattr(csv_mod, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(csv_mod, "read_rows", lambda *a: (_ for _ in ()).throw(AssertionError("careful pass ran")))


# Words where parsers disagree: pandas reads true/false as 1/0, float() reads underscores, other
# digits and Unicode spaces; rounding edges (ties, subnormals, overflow, 800 digits); NUL bytes.
TOKENS = [
    "True", "true", "FALSE", "tRuE", " True", "1_0", "\u0661", "\xa01", "1\x1c", "\x0b1", "\x0c1", "1\t", " 1 ",
    "1e", "1e+", ".", "-", "1.5.2", "0x10", "1d5", "0x1p3", "1\x00", "\x001", "1.5\x007", "inf", "-Infinity", "nan",
    "NA", "", "  ", "-0", "-0.0", "+0", "+.5", "5.", "1.e1", "1E+0005", "1e999", "1e-400", "4.9e-324",
    "2.4703282292062328e-324", "2.4703282292062329e-324", "2.2250738585072011e-308", "9007199254740993",
    "1.00000000000000011102230246251565404236316680908203125",
    "1.000000000000000111022302462515654042363166809082031250000000001",
    "1.7976931348623157e308", "1.7976931348623159e308", "1" + "0" * 400, "0." + "0" * 400 + "1",
    "7.2057594037927933e16", "0.1000000000000000055511151231257827021181583404541015625", "1e0000000000000000000001",
]


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("where", ["selected", "unselected"])
def test_every_token_reads_the_same_in_both_passes(token, where, tmp_path, monkeypatch):
    p = tmp_path / "t.csv"
    p.write_bytes(f"a,b,y\n1,{token},0.5\n2.5,3,4\n".encode())
    kw = {"features": ["a", "b"]} if where == "selected" else {"features": ["a"]}
    careful, fast = _both(p, monkeypatch, **kw)
    assert fast == careful


@pytest.mark.parametrize("token", [t for t in TOKENS if t.strip(" \t\x0b\x0c") and "\x00" not in t])
def test_a_number_the_fast_pass_accepts_is_float_of_its_text(token, tmp_path, monkeypatch):
    """Whatever pandas answers alone equals Python's float() of the text, bit for bit."""
    p = tmp_path / "t.csv"
    p.write_bytes(f"a,y\n{token},0.5\n".encode())
    try:
        got = csv_mod._fast_numbers(p, None, None)
    except Exception:  # noqa: BLE001  (read_csv_lines reads a complaint as "ask the careful pass")
        got = None
    try:
        want = float(token)
    except ValueError:
        assert got is None
        return
    if got is not None:
        assert got[0][0, 0].tobytes() == np.float64(want).tobytes()


def _random_file(tmp_path, n=2000, blank=False, crlf=False, name="f.csv"):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, 5)) * 10.0 ** rng.integers(-30, 30, (n, 5))
    A[::7, 1] = 0.0
    A[::5, 4] = 1.0  # exact 0 and 1 (a logistic target): the true/false check runs
    fmts = [repr, lambda v: f"{v:.17g}", lambda v: f"{v:.3e}", lambda v: f"{v:.6f}", lambda v: f"{v:.20e}"]
    rows = [",".join(fmts[(i + j) % 5](float(v)) for j, v in enumerate(r)) for i, r in enumerate(A)]
    if blank:
        rows[10:10] = [""]
    nl = "\r\n" if crlf else "\n"
    p = tmp_path / name
    p.write_text("a,b,c,d,y" + nl + nl.join(rows) + nl)
    return p, rows


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("features", [None, ["a", "b", "c", "d"], ["c", "a"], ["b", "c"], []])
def test_whole_table_pass_equals_the_careful_pass(tmp_path, monkeypatch, features, crlf):
    p, rows = _random_file(tmp_path, crlf=crlf)
    careful = _outcome(p, features=features)
    monkeypatch.setattr(csv_mod, "_selected_columns", lambda *a: (_ for _ in ()).throw(AssertionError("fallback")))
    _fast_only(monkeypatch)
    assert _outcome(p, features=features) == careful
    X = csv_mod.read_csv_lines(p, features=features)[0]
    assert X.flags.c_contiguous and X.dtype == np.float64
    names = "abcdy"
    want = np.array([[float(r.split(",")[names.index(f)]) for f in (features if features is not None else "abcd")]
                     for r in rows]).reshape(len(rows), -1)
    assert X.tobytes() == want.tobytes()  # float() of each cell's text, bit for bit


def test_blank_lines_and_text_columns_take_the_selected_columns_pass(tmp_path, monkeypatch):
    p, _ = _random_file(tmp_path, blank=True)
    careful = _outcome(p, features=["c", "a"])
    monkeypatch.setattr(csv_mod, "_whole_table", lambda *a: pytest.fail("should not be reached") if False else None)
    _fast_only(monkeypatch)
    assert _outcome(p, features=["c", "a"]) == careful
    assert careful[-1][9:12] == [11, 13, 14]


@pytest.mark.parametrize("text", [
    "x,y\n0,2,3\n1,5,6\n",  # every line one field longer: pandas would take the first as an index
    "x,y,z\n1,2,3\n4,5,6\n\n",  # a blank line at the end
    "x,y,z\n1,2,3\n4,True,6\n",  # pandas reads true/false as numbers
    "x,y,z\n1,2,3\n4,5,6\n7,8\n",  # short last line
    "x,y\n1,2\r\r\n3,4\n",  # a bare CR then CRLF: a blank line in between
])
def test_whole_table_pass_defers(text, tmp_path, monkeypatch):
    p = tmp_path / "r.csv"
    p.write_text(text, newline="")
    import pandas as pd

    assert csv_mod._whole_table(pd, p, text.index("\n") // 2 + 1, 1, [0, 1]) is None
    careful, fast = _both(p, monkeypatch)
    assert fast == careful


def test_not_utf8_in_a_column_not_selected(tmp_path, monkeypatch):
    p = tmp_path / "u.csv"
    p.write_bytes(b"label,x,y\nab\xff,1,2\ncd,3,4\n")
    careful, fast = _both(p, monkeypatch, features=["x"])
    assert fast == careful and "not a UTF-8 text file" in careful
    p.write_bytes("label,x,y\ncaf\u00e9,1,2\ncd,3,4\n".encode())  # valid UTF-8 text: read
    careful, fast = _both(p, monkeypatch, features=["x"])
    assert fast == careful and not isinstance(careful, str)


def test_true_false_text_in_a_column_not_selected(tmp_path, monkeypatch):
    p = tmp_path / "b.csv"
    p.write_text("flag,x,y\nTrue,1,0\nFalse,2,1\n")
    careful, fast = _both(p, monkeypatch, features=["x"])
    assert fast == careful and careful[3:] == (["x"], "y", [2, 3])


def test_header_after_blank_lines_and_a_bom(tmp_path, monkeypatch):
    p = tmp_path / "h.csv"
    p.write_bytes(b"\xef\xbb\xbf\n\nx,y\n1,2\n3,4\n")
    careful, fast = _both(p, monkeypatch)
    assert fast == careful and careful[-1] == [4, 5]
    _fast_only(monkeypatch)
    assert _outcome(p) == careful


def test_old_pandas_asks_for_exact_rounding():
    class Fake:
        __version__ = "2.2.3"

    assert csv_mod._exact(Fake) == {"float_precision": "round_trip"}
    Fake.__version__ = "3.1.0rc1"
    assert csv_mod._exact(Fake) == {}
    Fake.__version__ = "3.0.0"
    assert csv_mod._exact(Fake) == {"float_precision": "round_trip"}


def test_scan_sees_through_chunk_edges(tmp_path):
    """A CRLF or a UTF-8 character cut by a chunk edge is no doubt; a bare CR or a bad byte is."""
    p = tmp_path / "s.csv"
    p.write_bytes("n,y\r\n1,2\r\ncaf\u00e9,3\r\n".encode())
    for chunk in range(1, 12):
        assert csv_mod._scan(p, 1, chunk) == (False, 2, 2, 5)
    for data in (b"n,y\n1,2\r3,4\n", b"n,y\n1,2\n\xc3\n", b"n,y\n1,2\n\xc3"):
        p.write_bytes(data)
        assert all(csv_mod._scan(p, 1, chunk)[0] for chunk in range(1, 12))
