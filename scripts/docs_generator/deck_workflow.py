"""The deck's workflow slide: the lineage drawn with native PowerPoint shapes and connectors, from
the same model and layout as docs/lineage.drawio (one shape per node, named after its id)."""

from __future__ import annotations

from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from .deck_shapes import Deck
from .layout import SLIDE_METRICS, layout
from .lineage import Lineage
from .palette import EDGE_COLOURS, STYLE, frame_align

# Font size (pt) of a node's title; its detail line is one point smaller. Gates and channels
# are the smallest boxes: their text must stay inside them (checked by rendering, docs/DOCS.md).
TITLE_SIZE = {"stage": 11, "step": 11, "trigger": 11, "errors": 11, "gate": 9, "channel": 9}


def draw_workflow(deck: Deck, slide, model: Lineage) -> None:
    """The lineage drawn with native shapes and connectors (same model and layout as the .drawio)."""
    boxes, routes, (width, height) = layout(model, SLIDE_METRICS)
    area_x, area_y, area_w, area_h = 0.35, 1.4, 12.63, 5.55
    scale = min(area_w / width, area_h / height)
    ox = area_x + (area_w - width * scale) / 2
    oy = area_y
    to_emu = lambda v, o: Emu(int(Inches(o + v * scale)))  # noqa: E731
    size_emu = lambda v: Emu(int(Inches(v * scale)))  # noqa: E731
    shape_of = {
        "rounded": MSO_SHAPE.ROUNDED_RECTANGLE,
        "hexagon": MSO_SHAPE.HEXAGON,
        "note": MSO_SHAPE.FOLDED_CORNER,
        "frame": MSO_SHAPE.ROUNDED_RECTANGLE,
    }
    for node in sorted(model.nodes.values(), key=lambda n: n.kind != "frame"):
        b = boxes[node.id]
        fill, stroke, font, kind = STYLE[node.kind]
        shape = slide.shapes.add_shape(shape_of[kind], to_emu(b.x, ox), to_emu(b.y, oy), size_emu(b.w), size_emu(b.h))
        shape.name = node.id
        deck.fill(shape, fill if kind != "frame" else None, stroke, dashed=kind == "frame")
        if kind in ("rounded", "frame", "hexagon"):  # the hexagon's point as draw.io's (size=0.08)
            shape.adjustments[0] = {"frame": 0.04, "rounded": 0.12, "hexagon": 0.08}[kind]
        frame = shape.text_frame
        frame.word_wrap = True
        frame.margin_left = frame.margin_right = Inches(0.02 if kind == "hexagon" else 0.04)
        frame.margin_top = frame.margin_bottom = Inches(0.02)
        frame.vertical_anchor = MSO_ANCHOR.TOP if kind == "frame" else MSO_ANCHOR.MIDDLE
        detail = {
            "trigger": node.lines[:1],
            "channel": tuple("toujours" if line == "toujours" else "si activé" for line in node.lines[:1]),
        }.get(node.kind, ())
        size = TITLE_SIZE.get(node.kind, 10)
        # A task id or a path may break after an underscore or a slash, not mid-word.
        title = node.title.replace("/", "/\u200b")
        if kind == "hexagon":
            title = title.replace("_", "_\u200b")
        # A channel's condition follows its title on the same line: the alert boxes stay one line high.
        paragraphs = [[(title, size, True)]] + [[(line, size - 1, False)] for line in detail]
        if node.kind == "channel" and detail:
            paragraphs = [[(title, size, True), (f" · {detail[0]}", size - 1, False)]]
        for i, runs in enumerate(paragraphs):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.alignment = (
                {"left": PP_ALIGN.LEFT, "right": PP_ALIGN.RIGHT}[frame_align(node)]
                if kind == "frame"
                else PP_ALIGN.CENTER
            )
            for text, font_size, bold in runs:
                run = paragraph.add_run()
                run.text = text
                run.font.size, run.font.bold, run.font.name = Pt(font_size), bold, "Arial"
                run.font.color.rgb = deck.rgb(font)
    for edge in model.edges:
        points = routes[edge.id].points
        colour = EDGE_COLOURS[edge.kind]
        for k, (start, end) in enumerate(zip(points, points[1:])):
            line = slide.shapes.add_connector(
                MSO_CONNECTOR.STRAIGHT,
                to_emu(start[0], ox),
                to_emu(start[1], oy),
                to_emu(end[0], ox),
                to_emu(end[1], oy),
            )
            line.name = f"e-{edge.id}-{k}"
            line.line.color.rgb = deck.rgb(colour)
            line.line.width = Pt(1.25)
            deck.no_shadow(line)
            ln = line.line._get_or_add_ln()
            if edge.kind != "data":
                dash = ln.makeelement(qn("a:prstDash"), {"val": "dash"})
                ln.append(dash)
            if k == len(points) - 2:
                ln.append(ln.makeelement(qn("a:tailEnd"), {"type": "triangle", "w": "med", "len": "med"}))
