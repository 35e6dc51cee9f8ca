"""The lineage as plain (uncompressed) draw.io XML: stable ids, no timestamps, so the same flows
always give the same bytes (docs/lineage.drawio, checked by tests/test_docs_generated.py)."""

from __future__ import annotations

import html
import math
import xml.etree.ElementTree as ET

from .layout import DRAWIO_METRICS, Metrics, layout, shown_label
from .lineage import Lineage, Node
from .palette import EDGE_COLOURS, INK, STYLE, frame_align, num


def vertex_style(kind: str) -> str:
    fill, stroke, font, shape = STYLE[kind]
    common = f"whiteSpace=wrap;html=1;fillColor={fill};strokeColor={stroke};fontColor={font};fontSize=12;"
    return {
        "rounded": "rounded=1;arcSize=12;" + common,
        "hexagon": "shape=hexagon;perimeter=hexagonPerimeter2;size=0.08;fixedSize=0;" + common,
        "note": "shape=note;size=12;" + common,
        "frame": (
            "rounded=1;arcSize=4;dashed=1;verticalAlign=top;align=left;spacingLeft=10;spacingRight=10;spacingTop=2;"
            "container=0;" + common
        ),
    }[shape]


def node_html(node: Node) -> str:
    small = "".join(f'<br><font style="font-size: 10px">{html.escape(line, quote=False)}</font>' for line in node.lines)
    return f"<b>{html.escape(node.title, quote=False)}</b>{small}"


def label_position(points: list[tuple[float, float]], at: tuple[float, float]) -> tuple[float, tuple[float, float]]:
    """draw.io places an edge label at x in [-1, 1] along the whole path: find that x for a
    point, and the offset from the path to the point."""
    lengths = [math.dist(a, b) for a, b in zip(points, points[1:])]
    total = sum(lengths) or 1
    best = (float("inf"), 0.0, (0.0, 0.0))
    walked = 0.0
    for (a, b), length in zip(zip(points, points[1:]), lengths):
        if length:
            t = max(0.0, min(1.0, ((at[0] - a[0]) * (b[0] - a[0]) + (at[1] - a[1]) * (b[1] - a[1])) / length**2))
            p = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            d = math.dist(p, at)
            if d < best[0] - 1e-9:
                best = (d, walked + t * length, (at[0] - p[0], at[1] - p[1]))
        walked += length
    return 2 * best[1] / total - 1, best[2]


def to_drawio(model: Lineage, mt: Metrics = DRAWIO_METRICS) -> str:
    """Plain (uncompressed) draw.io XML; the same model always gives the same bytes."""
    boxes, routes, (width, height) = layout(model, mt)
    mxfile = ET.Element("mxfile", host="drawio", agent="scripts/make_docs.py", version="24.7.17", type="device")
    diagram = ET.SubElement(mxfile, "diagram", id=f"lineage-{model.flow_id}", name="Lignage")
    graph = ET.SubElement(
        diagram,
        "mxGraphModel",
        dx="1400",
        dy="900",
        grid="1",
        gridSize="10",
        guides="1",
        tooltips="1",
        connect="1",
        arrows="1",
        fold="1",
        page="1",
        pageScale="1",
        pageWidth=num(math.ceil(width / 10) * 10),
        pageHeight=num(math.ceil(height / 10) * 10),
        math="0",
        shadow="0",
    )
    root = ET.SubElement(graph, "root")
    ET.SubElement(root, "mxCell", id="0")
    # Attributes as a dict where one is named like SubElement's first parameter ('parent') or is a
    # keyword ('as'); the element keeps the dict's order.
    ET.SubElement(root, "mxCell", {"id": "1", "parent": "0"})
    ordered = sorted(model.nodes.values(), key=lambda n: n.kind != "frame")  # frames behind
    for node in ordered:
        box = boxes[node.id]
        style = vertex_style(node.kind)
        if node.kind == "frame":
            style = style.replace("align=left;", f"align={frame_align(node)};")
        cell = ET.SubElement(
            root,
            "mxCell",
            {"id": node.id, "value": node_html(node), "style": style, "vertex": "1", "parent": "1"},
        )
        ET.SubElement(
            cell,
            "mxGeometry",
            {"x": num(box.x), "y": num(box.y), "width": num(box.w), "height": num(box.h), "as": "geometry"},
        )
    for edge in model.edges:
        r = routes[edge.id]
        s, t = boxes[edge.source], boxes[edge.target]
        (x0, y0), (x1, y1) = r.points[0], r.points[-1]
        dashed = "dashed=1;" if edge.kind != "data" else ""
        colour = EDGE_COLOURS[edge.kind]
        style = (
            f"edgeStyle=none;rounded=0;html=1;endArrow=block;endFill=1;strokeColor={colour};{dashed}"
            f"fontSize=10;fontColor={INK};labelBackgroundColor=#FFFFFF;"
            f"exitX={num((x0 - s.x) / s.w)};exitY={num((y0 - s.y) / s.h)};exitDx=0;exitDy=0;"
            f"entryX={num((x1 - t.x) / t.w)};entryY={num((y1 - t.y) / t.h)};entryDx=0;entryDy=0;"
        )
        text = shown_label(model, edge)
        cell = ET.SubElement(
            root,
            "mxCell",
            {
                "id": f"e-{edge.id}",
                "value": html.escape(text, quote=False).replace("\n", "<br>"),
                "style": style,
                "edge": "1",
                "parent": "1",
                "source": edge.source,
                "target": edge.target,
            },
        )
        attrs = {"relative": "1", "as": "geometry"}
        offset = None
        if text and r.label_at:
            position, offset = label_position(r.points, r.label_at)
            attrs = {"x": num(position), "relative": "1", "as": "geometry"}
        geometry = ET.SubElement(cell, "mxGeometry", attrs)
        ET.SubElement(geometry, "mxPoint", {"x": num(x0), "y": num(y0), "as": "sourcePoint"})
        ET.SubElement(geometry, "mxPoint", {"x": num(x1), "y": num(y1), "as": "targetPoint"})
        if len(r.points) > 2:
            array = ET.SubElement(geometry, "Array", {"as": "points"})
            for x, y in r.points[1:-1]:
                ET.SubElement(array, "mxPoint", x=num(x), y=num(y))
        if offset and (abs(offset[0]) > 0.5 or abs(offset[1]) > 0.5):
            ET.SubElement(geometry, "mxPoint", {"x": num(offset[0]), "y": num(offset[1]), "as": "offset"})
    ET.indent(mxfile, space="  ")
    return ET.tostring(mxfile, encoding="unicode") + "\n"
