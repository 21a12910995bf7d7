"""Line charts written straight to PNG with the standard library alone.

Training runs save a loss curve next to their checkpoints, and rnnlab must not pull in matplotlib
for that, so this module rasterises a plain chart itself: white background, framed plot area,
1-2-5 ticks with gridlines, one 2-px polyline per series in a colour-blind-friendly palette, a
legend, a title and axis labels, all text in an embedded 5x7 bitmap font. Output is an RGB 8-bit
PNG written to a temporary file in the destination folder and renamed over the target, so a
reader never sees half a chart.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Sequence

# Printable ASCII 32..126, 9 rows per glyph (7 above the baseline, 2 for descenders), one base-32
# digit per row whose 5 bits are the pixels left to right.
_FONT = (
    "000000000444440400aa0000000aavavaa004fke5u400op248j300cik8lid00448000000"
    "24888420084222480004lel4000044v4400000000c480000e0000000000cc00122488g00"
    "ehjlphe004c4444e00eh1248v00v2421he0026aiv2200vgu11he0068guhhe00v12488800"
    "ehhehhe00ehhf12c000cc0cc0000cc0c4800248g8420000v0v0000842124800eh1240400"
    "ehnlnge00ehhvhhh00uhhuhhu00ehggghe00sihhhis00vgguggv00vgguggg00ehgnhhf00"
    "hhhvhhh00e44444e0072222ic00hikokih00ggggggv00hrllhhh00hhpljhh00ehhhhhe00"
    "uhhuggg00ehhhlid00uhhukih00fgge11u00v44444400hhhhhhe00hhhhha400hhhllla00"
    "hha4ahh00hha444400v1248gv00e88888e00g88422100e22222e004ah0000000000000v0"
    "84000000000e1fhf00ggmphhu0000egghe0011djhhf0000ehvge00698s8880000fhhhf1e"
    "ggmphhh0040c444e002062222icggikoki00c44444e0000qlllh0000mphhh0000ehhhe00"
    "00uhhhugg00fhhhf1100mpggg0000fge1u0088s88960000hhhjd0000hhha40000hhlla00"
    "00ha4ah0000hhhhf1e00v248v00344844300444444400o44244o00008l20000"
)
_ADVANCE, _ROWS = 6, 9

# Okabe-Ito colours, minus yellow, which vanishes on white.
PALETTE = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0), (86, 180, 233), (0, 0, 0)]
_WHITE, _INK, _FRAME, _GRID = (255, 255, 255), (20, 20, 20), (90, 90, 90), (228, 228, 228)

Series = tuple[str, Sequence[float], Sequence[float]]


class _Canvas:
    def __init__(self, width: int, height: int):
        self.w, self.h = width, height
        self.px = bytearray(b"\xff" * (width * height * 3))

    def rect(self, x0: int, y0: int, x1: int, y1: int, rgb) -> None:
        """Fill [x0, x1) x [y0, y1), clipped to the canvas."""
        x0, x1, y0, y1 = max(x0, 0), min(x1, self.w), max(y0, 0), min(y1, self.h)
        if x0 >= x1:
            return
        run = bytes(rgb) * (x1 - x0)
        for y in range(y0, y1):
            i = (y * self.w + x0) * 3
            self.px[i : i + len(run)] = run

    def outline(self, x0: int, y0: int, x1: int, y1: int, rgb) -> None:
        for box in (
            (x0, y0, x1 + 1, y0 + 1),
            (x0, y1, x1 + 1, y1 + 1),
            (x0, y0, x0 + 1, y1 + 1),
            (x1, y0, x1 + 1, y1 + 1),
        ):
            self.rect(*box, rgb)

    def line(self, x0: int, y0: int, x1: int, y1: int, rgb, clip) -> None:
        """Bresenham, stamping 2x2 blocks so the stroke is 2 px wide without anti-aliasing."""
        cx0, cy0, cx1, cy1 = clip
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x1 > x0 else -1), (1 if y1 > y0 else -1)
        err = dx + dy
        while True:
            if cx0 <= x0 < cx1 and cy0 <= y0 < cy1:
                self.rect(x0, y0, min(x0 + 2, cx1), min(y0 + 2, cy1), rgb)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err, x0 = err + dy, x0 + sx
            if e2 <= dx:
                err, y0 = err + dx, y0 + sy

    def text(self, x: int, y: int, s: str, scale: int, rgb, vertical: bool = False) -> None:
        """Draw ``s`` with its top-left at (x, y); vertical text reads bottom to top from (x, y)."""
        for n, ch in enumerate(s):
            code = ord(ch) - 32 if 32 <= ord(ch) < 127 else 31  # unknown characters become '?'
            rows = _FONT[code * _ROWS : (code + 1) * _ROWS]
            for r, digit in enumerate(rows):
                bits = int(digit, 32)
                for c in range(5):
                    if bits >> (4 - c) & 1:
                        gx, gy = (n * _ADVANCE + c) * scale, r * scale
                        if vertical:
                            self.rect(x + gy, y - gx - scale, x + gy + scale, y - gx, rgb)
                        else:
                            self.rect(x + gx, y + gy, x + gx + scale, y + gy + scale, rgb)


def _text_width(s: str, scale: int) -> int:
    return max(len(s) * _ADVANCE - 1, 0) * scale


def _ticks(lo: float, hi: float) -> tuple[float, float, list[float], int]:
    """Axis limits, 4-6 tick values on a 1-2-5 step, and the step's decimal exponent.

    Each step is tried both within the data range and with the limits pushed out to the
    neighbouring multiples; between them some 1-2-5 step always gives 4-6 ticks.
    """
    best = None
    e = math.floor(math.log10(hi - lo))
    for p in range(e - 2, e + 2):
        for m in (1, 2, 5):
            step = m * 10.0**p
            for grow in (False, True):
                if grow:
                    a, b = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
                else:
                    a, b = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
                n = b - a + 1
                if 4 <= n <= 6:
                    # Ticks inside the data range first; else the least-padded outward limits.
                    score = (grow, (b - a) * step / (hi - lo) if grow else abs(n - 5))
                    limits = (a * step, b * step) if grow else (lo, hi)
                    if best is None or score < best[0]:
                        best = (score, limits, [k * step for k in range(a, b + 1)], p)
    assert best is not None
    return best[1][0], best[1][1], best[2], best[3]


def _label(v: float, p: int) -> str:
    if -5 < p < 6:
        text = f"{v:.{max(0, -p)}f}"
        return "0" if float(text) == 0 else text  # no "-0.0" from rounding
    return f"{v:.2g}"


def _log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks at powers of ten (in log10 units), thinned to at most 6, or 1-2-5 within a decade."""
    ks = list(range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1))
    if len(ks) >= 2:
        stride = math.ceil(len(ks) / 6)
        return [(k, _label(10.0**k, min(k, 0)) if -4 < k < 6 else f"1e{k}") for k in ks[::stride]]
    out = []
    for k in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for m in (1, 2, 5):
            v = math.log10(m) + k
            if lo - 1e-9 <= v <= hi + 1e-9:
                out.append((v, _label(m * 10.0**k, min(k, 0))))
    return out


def _png(width: int, height: int, rgb: bytes) -> bytes:
    stride = width * 3
    raw = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def _write_atomic(path, data: bytes) -> None:
    path = os.path.abspath(os.fspath(path))
    # A unique name in the same folder keeps os.replace atomic and concurrent writers apart;
    # os.open (unlike mkstemp, which forces 0600) lets the umask decide who may read the chart.
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def line_chart_png(
    path,
    series: Sequence[Series],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    width: int = 800,
    height: int = 450,
    xlog: bool = False,
) -> None:
    """Render ``series`` -- a list of ``(name, xs, ys)`` -- as a line chart PNG at ``path``.

    Non-finite points (and, with ``xlog``, non-positive x) are skipped; a chart without any
    finite point still gets written, saying "no data".
    """
    data = []
    for name, xs, ys in series:
        if len(xs) != len(ys):
            raise ValueError(f"series {name!r}: {len(xs)} x values but {len(ys)} y values")
        pts = [
            (float(x), float(y))
            for x, y in zip(xs, ys)
            if math.isfinite(x) and math.isfinite(y) and (not xlog or x > 0)
        ]
        data.append((str(name), [(math.log10(x) if xlog else x, y) for x, y in pts]))
    allpts = [p for _, pts in data for p in pts]

    # 5x7 text at 1x is too small to read comfortably on a full-size chart.
    s = 2 if min(width, height) >= 300 else 1
    cv = _Canvas(width, height)
    line_h = _ROWS * s
    top = 2 * line_h + 4 * s if title else line_h
    bottom = height - (line_h + 8 * s) - (line_h + 4 * s if xlabel else 0)

    if allpts:
        xlo, xhi = min(p[0] for p in allpts), max(p[0] for p in allpts)
        ylo, yhi = min(p[1] for p in allpts), max(p[1] for p in allpts)
        if xhi - xlo < 1e-12 * max(abs(xlo), 1.0):
            xlo, xhi = xlo - 1, xhi + 1
        if yhi - ylo < 1e-12 * max(abs(ylo), 1.0):
            ylo, yhi = ylo - max(abs(ylo), 1) * 0.5, yhi + max(abs(yhi), 1) * 0.5
        # A little padding keeps the curve off the frame.
        padx, pady = 0.02 * (xhi - xlo), 0.04 * (yhi - ylo)
        xlo, xhi, ylo, yhi = xlo - padx, xhi + padx, ylo - pady, yhi + pady
        if xlog:
            xticks = _log_ticks(xlo, xhi)
        else:
            xlo, xhi, xt, xp = _ticks(xlo, xhi)
            xticks = [(v, _label(v, xp)) for v in xt]
        ylo, yhi, yt, yp = _ticks(ylo, yhi)
        yticks = [(v, _label(v, yp)) for v in yt]
    else:
        xticks = yticks = []
    label_w = max((_text_width(t, s) for _, t in yticks), default=0)
    left = label_w + 10 * s + (line_h + 6 * s if ylabel else 0)
    right = width - max(_text_width(xticks[-1][1], s) // 2 if xticks else 0, 6 * s) - 4 * s
    clip = (left + 1, top + 1, right, bottom)

    if title:
        cv.text((left + right - _text_width(title, s)) // 2, line_h // 2, title, s, _INK)
    if xlabel:
        cv.text((left + right - _text_width(xlabel, s)) // 2, height - line_h - 3 * s, xlabel, s, _INK)
    if ylabel:
        cv.text(3 * s, (top + bottom + _text_width(ylabel, s)) // 2, ylabel, s, _INK, vertical=True)

    if not allpts:
        msg = "no data"
        cv.text((left + right - _text_width(msg, s)) // 2, (top + bottom - 7 * s) // 2, msg, s, _FRAME)
        cv.outline(left, top, right, bottom, _FRAME)
        _write_atomic(path, _png(width, height, bytes(cv.px)))
        return

    def px(x: float) -> int:
        return round(left + (x - xlo) / (xhi - xlo) * (right - left))

    def py(y: float) -> int:
        return round(bottom - (y - ylo) / (yhi - ylo) * (bottom - top))

    for v, text in xticks:
        x = px(v)
        cv.rect(x, top + 1, x + 1, bottom, _GRID)
        cv.rect(x, bottom, x + 1, bottom + 4 * s, _FRAME)
        cv.text(x - _text_width(text, s) // 2, bottom + 6 * s, text, s, _INK)
    for v, text in yticks:
        y = py(v)
        cv.rect(left + 1, y, right, y + 1, _GRID)
        cv.rect(left - 4 * s, y, left, y + 1, _FRAME)
        cv.text(left - 6 * s - _text_width(text, s), y - 7 * s // 2, text, s, _INK)
    cv.outline(left, top, right, bottom, _FRAME)

    for i, (_, pts) in enumerate(data):
        rgb = PALETTE[i % len(PALETTE)]
        coords = [(px(x), py(y)) for x, y in pts]
        for (x0, y0), (x1, y1) in zip(coords, coords[1:] or coords):
            cv.line(x0, y0, x1, y1, rgb, clip)

    if any(name for name, _ in data):
        # The legend goes in whichever corner covers the fewest data points.
        sample = 10 * s
        box_w = 8 * s + sample + max(_text_width(n, s) for n, _ in data)
        box_h = 4 * s + len(data) * (line_h + 2 * s)
        cols, rows = (right - box_w - 6 * s, left + 6 * s), (top + 6 * s, bottom - box_h - 6 * s)
        corners = [(bx, by) for by in rows for bx in cols]

        def covered(corner) -> int:
            bx, by = corner
            return sum(bx <= px(x) <= bx + box_w and by <= py(y) <= by + box_h for x, y in allpts)

        bx, by = min(corners, key=covered)
        cv.rect(bx, by, bx + box_w, by + box_h, _WHITE)
        cv.outline(bx, by, bx + box_w, by + box_h, _FRAME)
        for i, (name, _) in enumerate(data):
            ty = by + 3 * s + i * (line_h + 2 * s)
            rgb = PALETTE[i % len(PALETTE)]
            cv.rect(bx + 3 * s, ty + 3 * s, bx + 3 * s + sample, ty + 3 * s + 2, rgb)
            cv.text(bx + 5 * s + sample, ty, name, s, _INK)

    _write_atomic(path, _png(width, height, bytes(cv.px)))
