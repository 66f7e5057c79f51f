"""The Teams app icons, drawn in pure Python and written as PNG.

``color.png`` is 192x192 in full colour; ``outline.png`` is 32x32, white on a transparent
background, as Teams requires. Both are committed; run ``python -m appPackage.icons`` to draw
them again after changing a shape or a colour. Edges are anti-aliased by supersampling.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
COLOR_SIZE = 192
OUTLINE_SIZE = 32
ACCENT = (0x2B, 0x57, 0x97)
"""The accent colour; the manifest's ``accentColor`` is the same."""
WHITE = (0xFF, 0xFF, 0xFF)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SUPERSAMPLING = 4

Shape = Callable[[float, float], bool]
"""Whether a point, in units of the icon's side (0..1), is inside a shape."""


@dataclass(frozen=True)
class Image:
    """An RGBA image: ``pixels`` holds 4 bytes per pixel, row after row."""

    width: int
    height: int
    pixels: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int, int]:
        """The (r, g, b, a) of one pixel."""
        offset = (y * self.width + x) * 4
        r, g, b, a = self.pixels[offset : offset + 4]
        return r, g, b, a


def encode_png(image: Image) -> bytes:
    """Encode an RGBA image as an 8-bit, non-interlaced PNG."""
    stride = image.width * 4
    raw = b"".join(
        b"\x00" + image.pixels[row * stride : (row + 1) * stride] for row in range(image.height)
    )
    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 6, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def decode_png(data: bytes) -> Image:
    """Decode an 8-bit RGBA or RGB, non-interlaced PNG (what icons need), with any row filter.

    Raises:
        ValueError: The data is not such a PNG.
    """
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    position = len(_PNG_SIGNATURE)
    header = b""
    compressed = bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        tag = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        if zlib.crc32(tag + body) != crc:
            raise ValueError(f"bad CRC in the {tag!r} chunk")
        if tag == b"IHDR":
            header = body
        elif tag == b"IDAT":
            compressed += body
        elif tag == b"IEND":
            break
        position += 12 + length
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or color_type not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {color_type}")
    channels = 4 if color_type == 6 else 3
    rows = _unfilter(zlib.decompress(bytes(compressed)), width * channels, height, channels)
    if channels == 3:
        rows = b"".join(rows[i : i + 3] + b"\xff" for i in range(0, len(rows), 3))
    return Image(width, height, rows)


def _unfilter(raw: bytes, stride: int, height: int, bpp: int) -> bytes:
    out = bytearray()
    previous = bytearray(stride)
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind > 4:
            raise ValueError(f"unknown PNG row filter {kind}")
        for i in range(stride if kind else 0):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            else:
                up_left = previous[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, up, up_left)) & 0xFF
        out += line
        previous = line
    return bytes(out)


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    if distances[0] <= distances[1] and distances[0] <= distances[2]:
        return left
    return up if distances[1] <= distances[2] else up_left


# ---------------------------------------------------------------------------------------------
# Shapes, in units of the icon's side
# ---------------------------------------------------------------------------------------------


def _rounded_rect(left: float, top: float, right: float, bottom: float, radius: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        nearest_x = min(max(x, left + radius), right - radius)
        nearest_y = min(max(y, top + radius), bottom - radius)
        return math.hypot(x - nearest_x, y - nearest_y) <= radius

    return inside


def _circle(cx: float, cy: float, radius: float) -> Shape:
    return lambda x, y: math.hypot(x - cx, y - cy) <= radius


def _triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Shape:
    def side(p: tuple[float, float], q: tuple[float, float], x: float, y: float) -> float:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    def inside(x: float, y: float) -> bool:
        signs = (side(a, b, x, y), side(b, c, x, y), side(c, a, x, y))
        return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)

    return inside


def _union(*shapes: Shape) -> Shape:
    return lambda x, y: any(shape(x, y) for shape in shapes)


def _minus(shape: Shape, hole: Shape) -> Shape:
    return lambda x, y: shape(x, y) and not hole(x, y)


def _bubble(inset: float) -> Shape:
    """A speech bubble with its tail at the bottom left, shrunk by ``inset`` on every side."""
    body = _rounded_rect(0.2 + inset, 0.24 + inset, 0.8 - inset, 0.66 - inset, 0.12 - inset)
    tail = _triangle((0.3 + inset, 0.6), (0.47 - inset, 0.6), (0.26 + inset, 0.8 - 1.6 * inset))
    return _union(body, tail)


_DOTS = _union(*(_circle(cx, 0.45, 0.045) for cx in (0.37, 0.5, 0.63)))
"""Three dots in the bubble: the bot is about to say something."""


def _coverage(shape: Shape, size: int, x: int, y: int) -> float:
    step = 1.0 / _SUPERSAMPLING
    hits = 0
    for i in range(_SUPERSAMPLING):
        for j in range(_SUPERSAMPLING):
            if shape((x + (i + 0.5) * step) / size, (y + (j + 0.5) * step) / size):
                hits += 1
    return hits / (_SUPERSAMPLING * _SUPERSAMPLING)


RGB = tuple[int, int, int]


def _blend(under: RGB, over: RGB, amount: float) -> RGB:
    r, g, b = (round(u + (o - u) * amount) for u, o in zip(under, over, strict=True))
    return r, g, b


def draw_color() -> Image:
    """The 192x192 colour icon: a white speech bubble with three accent dots on the accent."""
    size = COLOR_SIZE
    background = _rounded_rect(0.0, 0.0, 1.0, 1.0, 0.18)
    bubble = _bubble(0.0)
    pixels = bytearray()
    for y in range(size):
        for x in range(size):
            alpha = _coverage(background, size, x, y)
            white = _coverage(bubble, size, x, y)
            dots = _coverage(_DOTS, size, x, y)
            rgb = _blend(_blend(ACCENT, WHITE, white), ACCENT, dots)
            pixels += bytes((*rgb, round(alpha * 255)))
    return Image(size, size, bytes(pixels))


def draw_outline() -> Image:
    """The 32x32 outline icon: the bubble's outline and dots in white, the rest transparent."""
    size = OUTLINE_SIZE
    stroke = 2.0 / size
    shape = _union(_minus(_bubble(0.0), _bubble(stroke)), _DOTS)
    pixels = bytearray()
    for y in range(size):
        for x in range(size):
            # Every pixel is white; only its opacity varies, as Teams requires.
            pixels += bytes(WHITE) + bytes([round(_coverage(shape, size, x, y) * 255)])
    return Image(size, size, bytes(pixels))


def write_icons(directory: Path = PACKAGE_DIR) -> tuple[Path, Path]:
    """Draw both icons and write ``color.png`` and ``outline.png`` into ``directory``."""
    color, outline = directory / "color.png", directory / "outline.png"
    color.write_bytes(encode_png(draw_color()))
    outline.write_bytes(encode_png(draw_outline()))
    return color, outline


if __name__ == "__main__":
    for path in write_icons():
        print(path)
