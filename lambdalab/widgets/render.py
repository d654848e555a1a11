"""Fast frames from a matplotlib figure: draw the still parts once, then redraw only what changed.

A view builds one ``Figure`` (Agg, no pyplot, so no global state and nothing for Binder to lose), marks the
artists that change from step to step as ``Sprite``s, and asks ``Canvas.frame()`` for PNG bytes. The canvas keeps
the still background as a pixel array. For a new frame it restores the background only under the sprites whose
look changed (and under any sprite they overlap, so anti-aliased edges are never painted twice), redraws those
sprites, and encodes the pixels with zlib at its fastest level. A typical step touches a handful of sprites:
a few milliseconds instead of a full ``savefig``.
"""
from __future__ import annotations

import io
import math
import struct
import zlib
from typing import Any, Callable, Hashable, Iterable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

__all__ = ["Canvas", "Sprite", "encode_png", "is_png", "is_svg"]

_PAD = 2  # pixels around an artist's extent for anti-aliasing (outlines add their own)
_UNSET = object()  # a sprite's look before the first ``look()``: never equal to a key


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, deflated: bytes, adler: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = b"\x78\x01" + deflated + _FINAL_BLOCK + struct.pack(">I", adler)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


_FINAL_BLOCK = zlib.compressobj(1, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
_BASE = 65521


def _adler_combine(adler1: int, adler2: int, len2: int) -> int:
    """zlib's adler32_combine: the checksum of A+B from those of A and B (Python's zlib does not export it)."""
    rem = len2 % _BASE
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % _BASE
    sum1 += (adler2 & 0xFFFF) + _BASE - 1
    sum2 += ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + _BASE - rem
    sum1 %= _BASE
    sum2 %= _BASE
    return sum1 | (sum2 << 16)


class BandedPNG:
    """PNG encoding that recompresses only the horizontal bands whose pixels changed.

    Rows use no PNG filter, so a band of rows deflates on its own; each band ends with a zlib full flush
    (byte-aligned, no shared history), which lets the IDAT stream be the plain concatenation of the bands.
    A step that changes a few boxes recompresses a few bands instead of the whole image.
    """

    def __init__(self, rows_per_band: int = 16, level: int = 1) -> None:
        self.rows = rows_per_band
        self.level = level
        self._bands: list[tuple[bytes, int, int]] = []
        self._shape = None

    def encode(self, rgba: np.ndarray, dirty_rows: Iterable[tuple[int, int]] | None = None) -> bytes:
        height, width = rgba.shape[:2]
        count = (height + self.rows - 1) // self.rows
        if self._shape != (height, width) or dirty_rows is None:
            self._shape = (height, width)
            self._bands = [None] * count
            todo = range(count)
        else:
            todo = sorted({b for r0, r1 in dirty_rows for b in range(r0 // self.rows, (r1 - 1) // self.rows + 1)
                           if 0 <= b < count})
        for band in todo:
            r0 = band * self.rows
            r1 = min(height, r0 + self.rows)
            raw = np.empty((r1 - r0, width * 3 + 1), np.uint8)
            raw[:, 0] = 0
            raw[:, 1:] = rgba[r0:r1, :, :3].reshape(r1 - r0, width * 3)
            data = raw.tobytes()
            packer = zlib.compressobj(self.level, zlib.DEFLATED, -15)
            self._bands[band] = (packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH), zlib.adler32(data),
                                 len(data))
        adler = 1
        for _, band_adler, size in self._bands:
            adler = _adler_combine(adler, band_adler, size)
        return _png(width, height, b"".join(b[0] for b in self._bands), adler)


def encode_png(rgba: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of an (H, W, 4) uint8 array, as RGB with no row filter (fast, and flat diagrams compress well)."""
    return BandedPNG(level=level).encode(rgba)


def is_png(data) -> bool:
    """True for complete PNG bytes (or a memoryview of them, as an ``ipywidgets.Image`` holds)."""
    data = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    return data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" in data[-12:]


def is_svg(data) -> bool:
    data = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    return b"<svg" in data[:2000] and data.rstrip().endswith(b"</svg>")


class Sprite:
    """Artists drawn over the background; ``look(key, apply)`` restyles them only when ``key`` changes."""

    __slots__ = ("artists", "key", "drawn", "extent", "order", "extents", "stamps", "frame")

    def __init__(self, artists: Iterable[Any], order: int, frame: Any = None) -> None:
        self.artists = list(artists)
        self.frame = frame  # an artist that encloses all the others whenever it is visible
        for artist in self.artists:
            artist.set_animated(True)
        self.key: Hashable = _UNSET
        self.drawn: Hashable = _UNSET
        self.extent: tuple[int, int, int, int] | None = None  # rows r0:r1, columns c0:c1 on the canvas
        self.order = order
        self.extents: dict = {}  # look -> pixel extent; a look always covers the same pixels
        self.stamps: dict = {}   # look -> the pixels it leaves on the background (see Canvas._redraw)

    def look(self, key: Hashable, apply: Callable[[], None] | None = None) -> None:
        if key != self.key:
            self.key = key
            if apply is not None:
                apply()


class Canvas:
    """An Agg canvas for one figure, with a background cache and partial redraws."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.agg = FigureCanvasAgg(figure)
        self.sprites: list[Sprite] = []
        self._background: np.ndarray | None = None
        self._png: bytes | None = None
        self._encoder = BandedPNG()
        self._dirty_rows: list[tuple[int, int]] | None = None  # None: every row

    def sprite(self, *artists: Any, frame: Any = None) -> Sprite:
        """Register artists that change together; ``frame`` (one of them) encloses the rest when shown, which
        spares measuring each look's text."""
        sprite = Sprite(artists, len(self.sprites), frame)
        self.sprites.append(sprite)
        return sprite

    def invalidate(self) -> None:
        """The still part changed (new figure content, resize): the next frame is drawn in full."""
        self._background = None
        self._png = None
        for sprite in self.sprites:
            sprite.extents.clear()
            sprite.stamps.clear()

    def frame(self) -> bytes:
        if self._background is None:
            self._draw_all()
            self._dirty_rows = None
        else:
            dirty = [s for s in self.sprites if s.key is not s.drawn and s.key != s.drawn]
            if not dirty and self._png is not None:
                return self._png
            self._dirty_rows = []
            self._draw_some(dirty)
        self._png = self._encoder.encode(np.asarray(self.agg.buffer_rgba()), self._dirty_rows)
        return self._png

    def min_text_px(self) -> float:
        """The smallest font of any label this figure shows (or may show, for sprites), in PNG pixels."""
        from matplotlib.text import Text

        animated = {id(a) for s in self.sprites for a in s.artists}
        sizes = [t.get_fontsize() for t in self.figure.findobj(Text) if t.get_text() or id(t) in animated]
        return min(sizes) * self.figure.dpi / 72 if sizes else 0.0

    def rgba(self) -> np.ndarray:
        self.frame()
        return np.asarray(self.agg.buffer_rgba()).copy()

    def export(self, fmt: str = "png", *, dpi: float | None = None) -> bytes:
        """The current frame through ``savefig`` (vector SVG, or PNG at any dpi), for slides."""
        self.frame()
        shown = [a for s in self.sprites for a in s.artists]
        for artist in shown:
            artist.set_animated(False)
        try:
            out = io.BytesIO()
            self.figure.savefig(out, format=fmt, dpi=dpi or self.figure.dpi, facecolor=self.figure.get_facecolor())
        finally:
            for artist in shown:
                artist.set_animated(True)
            self.invalidate()
        return out.getvalue()

    # ---- drawing
    def _renderer(self):
        return self.agg.get_renderer()

    def _draw_all(self) -> None:
        self.agg.draw()
        self._background = np.asarray(self.agg.buffer_rgba()).copy()
        renderer = self._renderer()
        # an arrow learns the renderer's dpi only when drawn, and reports a head of the wrong size before:
        # draw each once (then wipe it) so that every extent measured from now on is right
        for sprite in self.sprites:
            sprite.stamps.clear()
            sprite.extents.clear()
            for artist in sprite.artists:
                if isinstance(artist, FancyArrowPatch):
                    shown = artist.get_visible()
                    artist.set_visible(True)
                    artist.draw(renderer)
                    artist.set_visible(shown)
        np.asarray(self.agg.buffer_rgba())[:] = self._background
        self._redraw(self.sprites, renderer)

    def _draw_some(self, dirty: list[Sprite]) -> None:
        renderer = self._renderer()
        regions = [s.extent for s in dirty if s.extent is not None]
        regions += [e for e in (self._extent(s, renderer) for s in dirty) if e is not None]
        redraw = set(dirty)
        grown = True
        while grown:  # a sprite under a restored region loses pixels there: redraw it, and restore under it too
            grown = False
            for sprite in self.sprites:
                if sprite not in redraw and sprite.extent is not None and _touches(sprite.extent, regions):
                    redraw.add(sprite)
                    regions.append(sprite.extent)
                    grown = True
        pixels = np.asarray(self.agg.buffer_rgba())
        for r0, r1, c0, c1 in regions:
            pixels[r0:r1, c0:c1] = self._background[r0:r1, c0:c1]
            self._dirty_rows.append((r0, r1))
        self._redraw(sorted(redraw, key=lambda s: s.order), renderer)

    def _redraw(self, sprites: list[Sprite], renderer) -> None:
        """Draw ``sprites`` (in z order) over restored background.

        A sprite that overlaps no other visible sprite covers its extent alone, so the pixels it leaves there
        are a pure function of its look: keep them (a stamp) and paste them the next time that look comes
        back. Text is the slow part of an Agg frame, and most looks recur (on/off, a handful of states).
        """
        extents = {s: (self._extent(s, renderer) if s.key is not s.drawn else s.extent) for s in self.sprites}
        pixels = np.asarray(self.agg.buffer_rgba())
        for sprite in sprites:
            extent = extents[sprite]
            sprite.extent, sprite.drawn = extent, sprite.key
            if extent is None:
                continue
            alone = not any(other is not sprite and box is not None and _touches(box, (extent,))
                            for other, box in extents.items())
            r0, r1, c0, c1 = extent
            stamp = sprite.stamps.get(sprite.key) if alone else None
            if stamp is not None:
                pixels[r0:r1, c0:c1] = stamp
                continue
            for artist in sprite.artists:
                if artist.get_visible():
                    artist.draw(renderer)
            if alone:
                if len(sprite.stamps) >= 64:
                    sprite.stamps.clear()
                sprite.stamps[sprite.key] = pixels[r0:r1, c0:c1].copy()

    def _extent(self, sprite: Sprite, renderer) -> tuple[int, int, int, int] | None:
        try:
            return sprite.extents[sprite.key]
        except (KeyError, TypeError):
            pass
        extent = self._measure(sprite, renderer)
        if len(sprite.extents) > 512:
            sprite.extents.clear()
        try:
            sprite.extents[sprite.key] = extent
        except TypeError:  # an unhashable look is simply not cached
            pass
        return extent

    def _measure(self, sprite: Sprite, renderer) -> tuple[int, int, int, int] | None:
        frame = sprite.frame
        shown = [frame] if frame is not None and frame.get_visible() else sprite.artists
        boxes = [a.get_window_extent(renderer) for a in shown if a.get_visible()]
        if not boxes:
            return None
        height, width = self._background.shape[:2]
        # an outline is centred on the path that the extent measures, so half its width lies outside (a mitred
        # right angle reaches ~0.71 of it; sharper mitred tips, like arrow heads, are drawn with round joins)
        pad = _PAD
        for artist in shown:
            if artist.get_visible() and hasattr(artist, "get_linewidth"):
                stroke = renderer.points_to_pixels(float(np.max(artist.get_linewidth())))
                mitred = getattr(artist, "get_joinstyle", lambda: "round")() == "miter"
                pad = max(pad, _PAD + math.ceil(stroke * (0.75 if mitred else 0.5)))
        x0 = min(b.x0 for b in boxes) - pad
        x1 = max(b.x1 for b in boxes) + pad
        y0 = min(b.y0 for b in boxes) - pad
        y1 = max(b.y1 for b in boxes) + pad
        r0, r1 = max(0, int(height - y1)), min(height, int(height - y0) + 1)
        c0, c1 = max(0, int(x0)), min(width, int(x1) + 1)
        if r0 >= r1 or c0 >= c1:
            return None
        return r0, r1, c0, c1


def _touches(box, regions) -> bool:
    r0, r1, c0, c1 = box
    return any(r0 < b1 and b0 < r1 and c0 < d1 and d0 < c1 for b0, b1, d0, d1 in regions)


def new_figure(width: float, height: float, dpi: float, facecolor: str = "white") -> Figure:
    return Figure(figsize=(width, height), dpi=dpi, facecolor=facecolor)
