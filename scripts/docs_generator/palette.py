"""Colours and shapes of each kind of node and edge: one look for draw.io, the SVG and the deck."""

from __future__ import annotations

WINE, GOLD, INK, GREY, ALERT = "#5B2333", "#C9A227", "#222222", "#6b6b6b", "#B00020"
STYLE = {  # kind -> (fill, stroke, font colour, shape)
    "stage": (WINE, "#3D1722", "#FFFFFF", "rounded"),
    "test": ("#FFF4D6", GOLD, INK, "rounded"),
    "step": ("#ECECEC", "#555555", INK, "rounded"),
    "gate": ("#FFFFFF", "#555555", INK, "hexagon"),
    "input": ("#E6F0E6", "#4F7A4F", INK, "note"),
    "deliverable": ("#F3E6EA", WINE, INK, "note"),
    "trigger": ("#DDE8F5", "#2F5C8A", INK, "rounded"),
    "errors": ("#FDE2E2", ALERT, INK, "rounded"),
    "channel": ("#FFFFFF", ALERT, INK, "rounded"),
    "frame": ("none", "#9A9A9A", "#444444", "frame"),
}

EDGE_COLOURS = {"data": "#555555", "control": "#2F5C8A", "alert": ALERT}


def frame_align(node) -> str:
    """The flow frame's caption goes right: the trigger arrow enters its top left."""
    return "right" if node.members and any(m.startswith("stage-") for m in node.members) else "left"


def num(value: float) -> str:
    """A coordinate as written in the XML/SVG: at most 4 decimals, no trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".")
