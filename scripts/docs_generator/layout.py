"""The layout: a box for every node and a route for every edge, left to right, in pixels.

Stages in a row with their test subflows below, inputs left, deliverables right, the trigger
above, the final step and its gates under the stages, the alert path below. Every writer
(draw.io, SVG, the deck's workflow slide) draws these very coordinates; ``Metrics`` holds the
sizes (the slide uses a tighter set).
"""

from __future__ import annotations

from dataclasses import dataclass

from .lineage import Edge, Lineage, Node


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Route:
    points: list[tuple[float, float]]
    label_at: tuple[float, float] | None = None  # centre of the label, on the path


@dataclass(frozen=True)
class Metrics:
    """Sizes in pixels (draw.io units). The slide uses a tighter set without edge labels."""

    margin: float = 30
    input_w: float = 150
    input_h: float = 46
    stage_w: float = 200
    stage_h: float = 76
    gap: float = 130  # between columns, where the edge labels sit
    test_w: float = 160
    test_h: float = 88
    test_gap: float = 150  # between a stage and its test
    step_gap: float = 110  # between the tests and the final step
    step_h: float = 64
    gate_w: float = 190
    gate_h: float = 56
    gate_gap: float = 50  # between two gates of a row
    deliverable_w: float = 190
    deliverable_h: float = 52
    trigger_w: float = 320
    trigger_h: float = 64
    channel_w: float = 300
    channel_h: float = 52
    lane_step: float = 16
    frame_pad: float = 44  # room for a frame's caption above its first member
    label_line: float = 13  # height of one line of an edge label


DRAWIO_METRICS = Metrics()
SLIDE_METRICS = Metrics(
    gap=70,
    test_gap=46,
    step_gap=46,
    lane_step=10,
    input_w=240,
    frame_pad=40,
    stage_w=210,
    stage_h=100,
    test_w=180,
    test_h=64,
    trigger_w=540,
    trigger_h=56,
    step_h=56,
    gate_w=280,
    gate_h=80,
    gate_gap=20,
    deliverable_w=270,
    deliverable_h=60,
    channel_w=480,
    channel_h=40,
)


def stack(n: int, centre: float, height: float, spacing: float) -> list[float]:
    """Top y of n boxes stacked around a centre line."""
    total = n * height + (n - 1) * spacing
    return [centre - total / 2 + i * (height + spacing) for i in range(n)]


def label_height(m: Metrics, edge: Edge) -> float:
    return (len(edge.label.splitlines()) or 1) * m.label_line + 4


def layout(
    model: Lineage, mt: Metrics = DRAWIO_METRICS
) -> tuple[dict[str, Box], dict[str, Route], tuple[float, float]]:
    """Boxes of every node and the route of every edge, left to right; returns (boxes, routes, size)."""
    stages = model.of_kind("stage")
    column = {s.id: i for i, s in enumerate(stages)}
    stage_x = lambda i: mt.margin + mt.input_w + mt.gap + 40 + i * (mt.stage_w + mt.gap)  # noqa: E731
    last_right = stage_x(max(len(stages) - 1, 0)) + mt.stage_w
    deliver_x = last_right + mt.gap

    def is_lane(edge: Edge) -> bool:  # a main-row edge that jumps over columns
        if edge.source not in column:
            return False
        target = model.nodes[edge.target]
        if target.kind == "stage":
            return column[edge.target] - column[edge.source] > 1
        return target.kind == "deliverable" and column[edge.source] < len(stages) - 1

    lanes = [e for e in model.edges if is_lane(e)]
    trigger_y = mt.margin
    frame_top = trigger_y + mt.trigger_h + 50
    row_y = frame_top + mt.frame_pad + 12 + len(lanes) * mt.lane_step + 30
    boxes: dict[str, Box] = {}
    for i, stage in enumerate(stages):
        boxes[stage.id] = Box(stage_x(i), row_y, mt.stage_w, mt.stage_h)
    row_cy = row_y + mt.stage_h / 2

    tests = model.of_kind("test")
    test_y = row_y + mt.stage_h + mt.test_gap
    for stage in stages:
        mine = [t for t in tests if t.anchor == stage.id]
        for j, test in enumerate(mine):
            sb = boxes[stage.id]
            boxes[test.id] = Box(sb.right - mt.test_w, test_y + j * (mt.test_h + 30), mt.test_w, mt.test_h)
    below_row = max([b.bottom for b in boxes.values()], default=row_y + mt.stage_h)

    y = below_row + (mt.step_gap if tests else 60)
    for step in model.of_kind("step"):
        sources = [column[e.source] for e in model.edges if e.target == step.id and e.source in column]
        first, last = (min(sources), max(sources)) if sources else (0, max(len(stages) - 1, 0))
        boxes[step.id] = Box(stage_x(first), y, stage_x(last) + mt.stage_w - stage_x(first), mt.step_h)
        gates = [g for g in model.of_kind("gate") if g.anchor == step.id]
        # Narrower gates when the row would be wider than the step: never out of the frame.
        gate_w = min(mt.gate_w, (boxes[step.id].w - (len(gates) - 1) * mt.gate_gap) / max(len(gates), 1))
        for k, gate in enumerate(gates):
            right = boxes[step.id].right - (len(gates) - 1 - k) * (gate_w + mt.gate_gap)
            boxes[gate.id] = Box(right - gate_w, boxes[step.id].bottom + 40, gate_w, mt.gate_h)
        y = max(b.bottom for b in boxes.values()) + 90
    for gate in model.of_kind("gate"):  # gates that follow a stage directly: under its test
        if gate.id not in boxes:
            anchor = boxes[gate.anchor]
            bottom = max(
                [b.bottom for b in boxes.values() if b.x < anchor.right and b.right > anchor.x], default=anchor.bottom
            )
            boxes[gate.id] = Box(anchor.x, bottom + 40, mt.gate_w, mt.gate_h)

    flow_members = [boxes[n.id] for n in model.nodes.values() if n.kind in ("stage", "test", "step", "gate")]
    flow_frame = (
        Box(
            stage_x(0) - 40,
            frame_top,
            last_right + 40 - (stage_x(0) - 40),
            max(b.bottom for b in flow_members) + 30 - frame_top,
        )
        if flow_members
        else None
    )

    inputs = model.of_kind("input")
    for node, top in zip(inputs, stack(len(inputs), row_cy, mt.input_h, 18)):
        boxes[node.id] = Box(mt.margin + 15, top, mt.input_w, mt.input_h)

    groups: dict[str, list[Node]] = {}
    for node in model.of_kind("deliverable"):
        source = next(e.source for e in model.edges if e.target == node.id)
        groups.setdefault(source, []).append(node)
    by_row: dict[float, list[Node]] = {}
    for source, nodes in groups.items():
        by_row.setdefault(boxes[source].cy if model.nodes[source].kind != "stage" else row_cy, []).extend(nodes)
    below = -float("inf")  # bottom of the stack above: a stack that would overlap it moves down
    for centre, nodes in sorted(by_row.items()):
        tops = stack(len(nodes), centre, mt.deliverable_h, 14)
        shift = max(0.0, below + 14 - tops[0]) if tops else 0.0
        for node, top in zip(nodes, tops):
            boxes[node.id] = Box(deliver_x + 15, top + shift, mt.deliverable_w, mt.deliverable_h)
        below = max([below] + [boxes[n.id].bottom for n in nodes])

    for trigger in model.of_kind("trigger"):
        target = next((boxes[e.target] for e in model.edges if e.source == trigger.id), None)
        cx = target.cx if target else stage_x(0) + mt.stage_w / 2
        boxes[trigger.id] = Box(cx - mt.trigger_w / 2, trigger_y, mt.trigger_w, mt.trigger_h)

    frames = {"frame-flow": flow_frame}
    for frame_id in ("frame-inputs", "frame-outputs"):
        if frame_id in model.nodes:
            inner = [boxes[i] for i in model.nodes[frame_id].members]
            top = min(b.y for b in inner) - mt.frame_pad
            frames[frame_id] = Box(
                min(b.x for b in inner) - 15,
                top,
                max(b.right for b in inner) + 15 - (min(b.x for b in inner) - 15),
                max(b.bottom for b in inner) + 15 - top,
            )
    for frame_id, box in frames.items():
        if frame_id in model.nodes and box:
            boxes[frame_id] = box

    bottom = max(b.bottom for b in boxes.values())
    if "errors" in model.nodes:
        hub = Box(stage_x(0), bottom + 60, mt.stage_w, mt.stage_h)
        boxes["errors"] = hub
        channels = [n for n in model.of_kind("channel")]
        for node, top in zip(channels, stack(len(channels), hub.cy, mt.channel_h, 14)):
            boxes[node.id] = Box(hub.right + mt.gap, top, mt.channel_w, mt.channel_h)
        bottom = max(b.bottom for b in boxes.values())
        # channels may stack higher than the hub: keep them below the flow frame
        overlap = (flow_frame.bottom + 20) - min(boxes[n.id].y for n in channels) if channels and flow_frame else 0
        if overlap > 0:
            for node_id in ["errors"] + [n.id for n in channels]:
                b = boxes[node_id]
                boxes[node_id] = Box(b.x, b.y + overlap, b.w, b.h)

    routes = {e.id: route(model, mt, e, boxes, column, lanes) for e in model.edges}
    width = max(b.right for b in boxes.values()) + mt.margin
    height = max(b.bottom for b in boxes.values()) + mt.margin
    return boxes, routes, (width, height)


def route(
    model: Lineage, mt: Metrics, edge: Edge, boxes: dict[str, Box], column: dict[str, int], lanes: list[Edge]
) -> Route:
    s, t = boxes[edge.source], boxes[edge.target]
    sk, tk = model.nodes[edge.source].kind, model.nodes[edge.target].kind
    lh = label_height(mt, edge)

    def fan(y_from: float, y_to: float, x_mid: float | None = None) -> Route:
        mid = x_mid if x_mid is not None else (s.right + t.x) / 2
        points = [(s.right, y_from), (mid, y_from), (mid, y_to), (t.x, y_to)]
        if abs(y_from - y_to) < 0.5:
            points = [(s.right, y_from), (t.x, y_to)]
        return Route(points, ((s.right + t.x) / 2, y_from))

    if edge in lanes:
        lane_y = (
            boxes["frame-flow"].y + mt.frame_pad + 12 + lanes.index(edge) * mt.lane_step
            if "frame-flow" in boxes
            else s.y - 30
        )
        x0 = s.x + s.w * (0.5 + 0.1 * lanes.index(edge))
        entry_x = t.x - 25 if tk == "deliverable" else t.x + t.w * 0.7
        if tk == "deliverable":
            points = [(x0, s.y), (x0, lane_y), (entry_x, lane_y), (entry_x, t.cy), (t.x, t.cy)]
        else:
            points = [(x0, s.y), (x0, lane_y), (entry_x, lane_y), (entry_x, t.y)]
        return Route(points, ((x0 + entry_x) / 2, lane_y))
    if sk == "stage" and tk == "stage":
        return Route([(s.right, s.cy), (t.x, t.cy)], ((s.right + t.x) / 2, s.cy))
    if sk == "input":
        return fan(s.cy, t.cy)
    if sk == "stage" and tk == "test":
        x = t.x + t.w * 0.3
        return Route([(x, s.bottom), (x, t.y)], (x, s.bottom + 10 + lh / 2))
    if sk == "test" and tk == "stage":
        x = s.x + s.w * 0.82
        return Route([(x, s.y), (x, t.bottom)], (x, s.y - 12 - lh / 2))
    if sk == "stage" and tk == "step":
        x = s.x + 16
        tests_bottom = max([b.bottom for i, b in boxes.items() if model.nodes[i].kind == "test"], default=s.bottom)
        return Route([(x, s.bottom), (x, t.y)], (x, (tests_bottom + t.y) / 2))
    if tk == "gate" and sk in ("step", "stage"):
        return Route([(t.cx, s.bottom), (t.cx, t.y)])
    if sk == "gate" and tk == "gate":
        return Route([(s.right, s.cy), (t.x, t.cy)])
    if sk in ("stage", "step") and tk == "deliverable":
        return fan(s.cy if sk == "step" else s.cy, t.cy)
    if sk == "trigger":
        return Route([(t.cx, s.bottom), (t.cx, t.y)], (t.cx, (s.bottom + boxes.get("frame-flow", t).y) / 2))
    if sk == "frame" and tk == "errors":
        return Route([(t.cx, s.bottom), (t.cx, t.y)], (t.cx, (s.bottom + t.y) / 2))
    if sk == "errors":
        return fan(s.cy, t.cy)
    return Route([(s.right, s.cy), (t.x, t.cy)], ((s.right + t.x) / 2, (s.cy + t.cy) / 2))


def shown_label(model: Lineage, edge: Edge) -> str:
    """An edge into or out of a file node carries that file: no need to repeat its name."""
    if (
        edge.files
        and all(
            model.is_file_node(n) and model.nodes[n].title in edge.files
            for n in (edge.source, edge.target)
            if model.is_file_node(n)
        )
        and (model.is_file_node(edge.source) or model.is_file_node(edge.target))
    ):
        return edge.note
    return edge.label
