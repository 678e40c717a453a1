"""Glyphs for every label: find an installed font for the characters DejaVu Sans lacks.

matplotlib draws a character its font lacks as an empty box, and says so only in a logging
warning per glyph. Labels come from users (CSV column names, run names, ``--title``), in any
script. Before drawing, :func:`fallback_fonts` checks every character against DejaVu Sans's
character map; for those it lacks it looks through the installed fonts
(``matplotlib.font_manager``) for ones that have them, which the figures then list after DejaVu
in ``font.family`` (matplotlib ≥ 3.6 falls back glyph by glyph). When no installed font has
them, the caller prints one line naming the font package to install. Nothing is searched for
text that DejaVu covers (the usual case: it costs nothing then).
"""

from __future__ import annotations

from functools import lru_cache

# Debian/Ubuntu packages that hold the fonts for a script (the message names one)
PACKAGES = {
    "cjk": "fonts-noto-cjk",
    "other": "fonts-noto-core",
}


@lru_cache(maxsize=None)
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except Exception:  # an unreadable font file is just not a candidate
        return frozenset()


def _dejavu() -> frozenset[int]:
    from matplotlib import font_manager

    return _charmap(font_manager.findfont("DejaVu Sans", fallback_to_default=True))


def missing_glyphs(texts) -> str:
    """The characters of ``texts`` that DejaVu Sans cannot draw (in order, each once)."""
    chars = dict.fromkeys(ch for t in texts if t for ch in str(t) if ord(ch) >= 0x250)  # Latin: always there
    if not chars:
        return ""
    have = _dejavu()
    return "".join(ch for ch in chars if ord(ch) not in have and not ch.isspace())


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x1100 <= o <= 0x11FF or 0x2E80 <= o <= 0x9FFF or 0xA960 <= o <= 0xA97F or 0xAC00 <= o <= 0xD7FF
            or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF or 0x20000 <= o <= 0x2FFFF)


def fallback_fonts(texts) -> tuple[tuple[str, ...], str, str]:
    """(font families to fall back on, characters still without a glyph, package to install).

    Families are chosen greedily: the installed font covering most of the missing characters,
    then the next for what is left."""
    missing = missing_glyphs(texts)
    if not missing:
        return (), "", ""
    from matplotlib import font_manager

    need = {ord(c) for c in missing}
    families: list[str] = []
    seen: set[str] = set()
    candidates = []
    for entry in font_manager.fontManager.ttflist:
        if entry.name in seen or entry.fname.lower().endswith((".pfb", ".afm")):
            continue
        seen.add(entry.name)
        candidates.append(entry)
    while need:
        best, best_n = None, 0
        for entry in candidates:
            n = len(need & _charmap(entry.fname))
            if n > best_n:
                best, best_n = entry, n
        if best is None:
            break
        families.append(best.name)
        need -= _charmap(best.fname)
        candidates.remove(best)
    left = "".join(c for c in missing if ord(c) in need)
    package = ""
    if left:
        package = PACKAGES["cjk"] if any(_is_cjk(c) for c in left) else PACKAGES["other"]
    return tuple(families), left, package


def warning_line(left: str, package: str) -> str:
    """The one line said when glyphs have no font: which characters, which package."""
    shown = left if len(left) <= 12 else left[:12] + "…"
    return (f"no installed font has glyphs for {shown!r}: they would be empty boxes in the figures; "
            f"install a font that has them (Debian/Ubuntu: apt install {package}) and draw again "
            "(`optrun plot RUN_DIR`)")
