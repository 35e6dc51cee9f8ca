"""A static SVG preview of the lineage, from the same layout as the draw.io file (viewable
anywhere, embedded in docs/DOCS.md)."""

from __future__ import annotations

import html

from .layout import DRAWIO_METRICS, Metrics, layout, shown_label
from .lineage import Lineage
from .palette import ALERT, EDGE_COLOURS, INK, STYLE, frame_align, num


def wrap(text: str, width_px: float, size: float, bold: bool = False) -> list[str]:
    """Greedy word wrap with an average glyph width (good enough for a preview)."""
    per_char = size * (0.60 if bold else 0.55)
    limit = max(4, int(width_px / per_char))
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if len(candidate) <= limit or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    return lines + [current] if current else lines


BOLD = ' font-weight="bold"'
END = ' text-anchor="end"'


def to_svg(model: Lineage, mt: Metrics = DRAWIO_METRICS) -> str:
    """A static preview of the same layout (viewable anywhere, embedded in docs/DOCS.md)."""
    boxes, routes, (width, height) = layout(model, mt)
    esc = lambda s: html.escape(s, quote=True)  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{num(width)}" height="{num(height)}" '
        f'viewBox="0 0 {num(width)} {num(height)}" font-family="Liberation Sans, Arial, Helvetica, sans-serif">',
        "<defs>"
        + "".join(
            f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
            for k, c in (("data", "#555555"), ("control", "#2F5C8A"), ("alert", ALERT))
        )
        + "</defs>",
        f'<rect width="{num(width)}" height="{num(height)}" fill="#FFFFFF"/>',
    ]
    for node in sorted(model.nodes.values(), key=lambda n: n.kind != "frame"):
        b = boxes[node.id]
        fill, stroke, font, shape = STYLE[node.kind]
        if shape == "hexagon":
            d = b.w * 0.08
            pts = [
                (b.x + d, b.y),
                (b.right - d, b.y),
                (b.right, b.cy),
                (b.right - d, b.bottom),
                (b.x + d, b.bottom),
                (b.x, b.cy),
            ]
            out.append(
                f'<polygon points="{" ".join(f"{num(x)},{num(y)}" for x, y in pts)}" fill="{fill}" stroke="{stroke}"/>'
            )
        elif shape == "note":
            pts = [(b.x, b.y), (b.right - 12, b.y), (b.right, b.y + 12), (b.right, b.bottom), (b.x, b.bottom)]
            out.append(
                f'<polygon points="{" ".join(f"{num(x)},{num(y)}" for x, y in pts)}" fill="{fill}" stroke="{stroke}"/>'
            )
        else:
            dash = ' stroke-dasharray="6 4"' if shape == "frame" else ""
            out.append(
                f'<rect x="{num(b.x)}" y="{num(b.y)}" width="{num(b.w)}" height="{num(b.h)}" rx="{8 if shape != "frame" else 6}" '
                f'fill="{"none" if fill == "none" else fill}" stroke="{stroke}"{dash}/>'
            )
        lines = [(line, 12, True) for line in wrap(node.title, b.w - 12, 12, True)]
        lines += [(line, 10, False) for text in node.lines for line in wrap(text, b.w - 12, 10)]
        if shape == "frame":
            y, right = b.y + 16, frame_align(node) == "right"
            for text, size, bold in lines:
                out.append(
                    f'<text x="{num(b.right - 10 if right else b.x + 10)}" y="{num(y)}" font-size="{size}" fill="{font}"'
                    f"{END if right else ''}{BOLD if bold else ''}>{esc(text)}</text>"
                )
                y += size + 3
            continue
        total = sum(size + 3 for _, size, _ in lines) - 3
        y = b.cy - total / 2
        for text, size, bold in lines:
            y += size
            out.append(
                f'<text x="{num(b.cx)}" y="{num(y - 1)}" font-size="{size}" text-anchor="middle" fill="{font}"'
                f"{BOLD if bold else ''}>{esc(text)}</text>"
            )
            y += 3
    for edge in model.edges:
        r = routes[edge.id]
        colour = EDGE_COLOURS[edge.kind]
        dash = ' stroke-dasharray="5 4"' if edge.kind != "data" else ""
        out.append(
            f'<polyline points="{" ".join(f"{num(x)},{num(y)}" for x, y in r.points)}" fill="none" '
            f'stroke="{colour}" stroke-width="1.3"{dash} marker-end="url(#arrow-{edge.kind})"/>'
        )
    for edge in model.edges:  # labels above every line
        r, text = routes[edge.id], shown_label(model, edge)
        if not (text and r.label_at):
            continue
        label_lines = text.splitlines()
        w = max(len(line) for line in label_lines) * 5.6 + 8
        h = len(label_lines) * mt.label_line + 4
        x, y = r.label_at
        out.append(
            f'<rect x="{num(x - w / 2)}" y="{num(y - h / 2)}" width="{num(w)}" height="{num(h)}" fill="#FFFFFF" opacity="0.92"/>'
        )
        for i, line in enumerate(label_lines):
            out.append(
                f'<text x="{num(x)}" y="{num(y - h / 2 + 2 + (i + 1) * mt.label_line - 3)}" font-size="10" '
                f'text-anchor="middle" fill="{INK}">{esc(line)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
