"""``rnnlab.plot``: the PNG is valid, and lines, text and edge cases land where they should."""

from __future__ import annotations

import math
import struct
import zlib

import pytest

from rnnlab import plot
from rnnlab.plot import PALETTE, line_chart_png

NAN, INF = float("nan"), float("inf")


def read_png(path):
    """Decode an 8-bit RGB, filter-0 PNG into (width, height, rows of (r, g, b) tuples)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body), f"bad CRC in {tag!r}"
        chunks.append((tag, body))
        pos += 12 + length
    assert pos == len(data)
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, comp, filt, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for tag, body in chunks if tag == b"IDAT"))
    assert len(raw) == width * height * 3 + height
    stride = width * 3 + 1
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0
        rows.append([tuple(line[1 + 3 * x : 4 + 3 * x]) for x in range(width)])
    return width, height, rows


def where(rows, rgb):
    return [(x, y) for y, row in enumerate(rows) for x, px in enumerate(row) if px == rgb]


def dark(rows, x0, y0, x1, y1, below=60):
    """Pixels in the box darker than ``below`` on every channel (text ink, not the grey frame)."""
    return sum(max(px) < below for row in rows[y0:y1] for px in row[x0:x1])


def test_png_is_valid_with_requested_size(tmp_path):
    out = tmp_path / "chart.png"
    line_chart_png(out, [("a", [0, 1, 2], [3.0, 1.0, 2.0])], width=321, height=203)
    width, height, rows = read_png(out)
    assert (width, height) == (321, 203)
    assert rows[0][0] == (255, 255, 255)
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]  # no temporary file left behind


def test_overwrites_existing_file_atomically(tmp_path):
    out = tmp_path / "chart.png"
    out.write_bytes(b"old")
    line_chart_png(str(out), [("a", [0, 1], [0, 1])], width=200, height=120)
    read_png(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.png"]


def test_rising_and_falling_series_land_in_the_right_corners(tmp_path):
    out = tmp_path / "chart.png"
    xs = [i / 10 for i in range(101)]
    # Unnamed series draw no legend, so every palette pixel belongs to a curve.
    line_chart_png(out, [("", xs, xs), ("", xs, [10 - x for x in xs])], width=400, height=300)
    width, height, rows = read_png(out)
    for rgb, rising in ((PALETTE[0], True), (PALETTE[1], False)):
        pts = where(rows, rgb)
        assert len(pts) > 300  # a 2-px line across most of the plot
        xmin, xmax = min(x for x, _ in pts), max(x for x, _ in pts)
        left = [y for x, y in pts if x < xmin + 10]
        right = [y for x, y in pts if x > xmax - 10]
        assert xmax - xmin > width // 2
        low_left = min(left) > height * 0.6 and max(right) < height * 0.4
        high_left = max(left) < height * 0.4 and min(right) > height * 0.6
        assert low_left if rising else high_left


def test_series_get_distinct_colours_and_legend(tmp_path):
    out = tmp_path / "chart.png"
    series = [(f"s{i}", [0, 1, 2], [i, i + 1, i]) for i in range(3)]
    line_chart_png(out, series, width=400, height=300)
    _, _, rows = read_png(out)
    assert len(set(PALETTE[:3])) == 3
    for rgb in PALETTE[:3]:
        assert where(rows, rgb)


def test_nan_and_inf_points_are_skipped(tmp_path):
    out = tmp_path / "chart.png"
    xs = [0, 1, 2, 3, 4, 5]
    ys = [5.0, NAN, 3.0, INF, -INF, 1.0]
    line_chart_png(out, [("loss", xs, ys), ("nothing", [NAN, 1], [1, NAN])], width=300, height=200)
    _, _, rows = read_png(out)
    assert len(where(rows, PALETTE[0])) > 50


def test_empty_chart_is_valid_and_says_no_data(tmp_path):
    for i, series in enumerate([[], [("a", [], [])], [("a", [NAN], [NAN])]]):
        out = tmp_path / f"empty{i}.png"
        line_chart_png(out, series, width=300, height=200)
        width, height, rows = read_png(out)
        assert (width, height) == (300, 200)
        assert dark(rows, 100, 80, 200, 120, below=128) > 20  # the grey "no data", mid-plot
        assert not where(rows, PALETTE[0])


def test_title_glyphs_put_dark_pixels_at_the_top(tmp_path):
    with_title, without = tmp_path / "t.png", tmp_path / "n.png"
    series = [("", [0, 1], [0, 1])]
    line_chart_png(with_title, series, title="Loss (bpc)", width=400, height=300)
    line_chart_png(without, series, width=400, height=300)
    _, _, rows = read_png(with_title)
    _, _, bare = read_png(without)
    band = (100, 0, 300, 30)
    assert dark(rows, *band) > 60
    assert dark(bare, *band) == 0
    # Centred: ink on both sides of the middle, none near the edges.
    assert dark(rows, 150, 0, 200, 30) and dark(rows, 200, 0, 250, 30)
    assert dark(rows, 0, 0, 100, 30) == 0 and dark(rows, 300, 0, 400, 30) == 0


def test_font_covers_printable_ascii():
    assert len(plot._FONT) == 95 * plot._ROWS
    assert all(int(d, 32) < 32 for d in plot._FONT)
    glyph = {chr(32 + i): plot._FONT[i * plot._ROWS : (i + 1) * plot._ROWS] for i in range(95)}
    assert glyph[" "] == "0" * plot._ROWS
    assert len({glyph[c] for c in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}) == 62


@pytest.mark.parametrize(
    "lo,hi", [(0, 1), (1.6, 4.5), (-3e-4, 7e-4), (0, 2000), (123.4, 123.9), (-5, -4.99), (1e6, 3.7e7), (0.3, 0.31)]
)
def test_ticks_are_4_to_6_round_values_covering_the_data(lo, hi):
    a, b, ticks, p = plot._ticks(lo, hi)
    assert 4 <= len(ticks) <= 6
    assert a <= lo and b >= hi
    step = ticks[1] - ticks[0]
    assert round(step / 10.0**p, 6) in (1, 2, 5)
    assert all(math.isclose(t2 - t1, step, rel_tol=1e-6) for t1, t2 in zip(ticks, ticks[1:]))


def test_xlog_skips_non_positive_x(tmp_path):
    out = tmp_path / "log.png"
    line_chart_png(
        out,
        [("a", [0, 1, 10, 100, 1000], [4, 3, 2, 1.5, 1.2])],
        xlog=True,
        title="log",
        xlabel="step",
        ylabel="bpc",
        width=400,
        height=300,
    )
    _, _, rows = read_png(out)
    assert where(rows, PALETTE[0])


def test_mismatched_lengths_raise(tmp_path):
    with pytest.raises(ValueError):
        line_chart_png(tmp_path / "x.png", [("a", [0, 1, 2], [0, 1])])
    assert not list(tmp_path.iterdir())
