"""The steering-committee deck (python-pptx), built from a run folder and the flows.

Twelve slides: title, the need, Kestra in plain words, the workflow, the demo, the quality
checks, robustness, the month's results (with the comparison with the previous month), the top
10 products, risks, decisions asked of the committee, next steps. Every sentence comes from
``deck_text``; every figure from the run folder (``run_facts``); a deck built from the bundled
sample says so on every slide.
"""

from __future__ import annotations

from pathlib import Path

from pptx.enum.shapes import MSO_SHAPE
from pptx.util import Inches

from . import REPO
from . import deck_text as t
from .deck_charts import split_chart, top_products_chart
from .deck_shapes import Deck
from .deck_workflow import draw_workflow
from .lineage import Lineage, build_lineage, registered_gates
from .palette import GOLD, GREY, INK, WINE
from .run_facts import RunFacts, read_run

RECTANGLE = MSO_SHAPE.RECTANGLE


def build_presentation(run: Path, output: Path, root: Path = REPO) -> Path:
    facts = read_run(run)
    model = build_lineage(root)
    deck = Deck(t.footer(facts), t.SAMPLE_BAND if facts.from_sample else None)
    title_slide(deck, facts)
    bullet_slide(deck, t.context_slide(facts), size=26, space=22)
    kestra_slide(deck, t.kestra_slide(model, facts))
    workflow_slide(deck, model)
    demo_slide(deck, t.demo_slide(model, facts))
    tests_slide(deck, t.tests_slide(facts, len(registered_gates())))
    bullet_slide(deck, t.robustness_slide(model), size=24, space=18)
    results_slide(deck, facts, t.results_slide(facts))
    top_products_slide(deck, facts, t.top_products_slide(facts))
    risks_slide(deck, t.risks_slide(facts))
    bullet_slide(deck, t.decisions_slide(facts, model), size=22, space=20)
    bullet_slide(deck, t.next_steps_slide(facts, model), size=24, space=18)
    deck.save(output, t.DECK_TITLE, t.DECK_AUTHOR)
    return output


def title_slide(deck: Deck, facts: RunFacts) -> None:
    text = t.title_slide(facts)
    slide = deck.slide(None, text["notes"])
    background = slide.shapes.add_shape(RECTANGLE, 0, 0, deck.prs.slide_width, deck.prs.slide_height)
    deck.fill(background, WINE)
    rule = slide.shapes.add_shape(RECTANGLE, Inches(0.9), Inches(3.6), Inches(2.2), Inches(0.08))
    deck.fill(rule, GOLD)
    deck.box(slide, 0.9, 1.45, 12.0, 2.0, text["title"], size=42, bold=True, colour="#FFFFFF")
    deck.box(slide, 0.9, 3.9, 11.5, 0.7, text["subtitle"], size=26, colour="#F3E6EA")
    deck.box(slide, 0.9, 4.7, 11.5, 1.0, text["source"], size=18, colour="#E8D7A0")


def bullet_slide(deck: Deck, text: dict, size: int, space: int) -> None:
    slide = deck.slide(text["title"], text["notes"])
    deck.bullets(slide, 0.8, 1.7, 11.8, 5.0, text["bullets"], size=size, space=space)


def kestra_slide(deck: Deck, text: dict) -> None:
    slide = deck.slide(text["title"], text["notes"])
    deck.table(slide, 0.6, 1.55, 12.1, text["rows"], [2.4, 6.9, 2.8], size=17, header_size=16, row_h=0.62)


def workflow_slide(deck: Deck, model: Lineage) -> None:
    text = t.workflow_slide(model)
    draw_workflow(deck, deck.slide(text["title"], text["notes"]), model)


def demo_slide(deck: Deck, text: dict) -> None:
    slide = deck.slide(text["title"], text["notes"])
    deck.box(slide, 0.8, 1.55, 7.4, 0.5, text["kestra_heading"], size=24, bold=True, colour=WINE)
    deck.bullets(slide, 0.8, 2.15, 7.4, 4.6, text["steps"], size=21, space=12)
    panel = slide.shapes.add_shape(RECTANGLE, Inches(8.55), Inches(1.55), Inches(4.3), Inches(3.6))
    deck.fill(panel, "#F3E6EA")
    deck.box(slide, 8.75, 1.7, 3.9, 0.5, text["local_heading"], size=22, bold=True, colour=WINE)
    deck.box(slide, 8.75, 2.35, 3.9, 1.4, text["local_command"], size=18, font="Liberation Mono", colour=INK)
    deck.box(slide, 8.75, 3.85, 3.9, 1.2, text["local_note"], size=17, colour=GREY)


def tests_slide(deck: Deck, text: dict) -> None:
    slide = deck.slide(text["title"], text["notes"])
    rows = text["rows"]
    deck.table(slide, 0.6, 1.5, 12.1, rows, [3.7, 1.5, 6.9], size=16, header_size=15, row_h=0.5)
    y = 1.5 + 0.5 * len(rows) + 0.25
    deck.box(slide, 0.6, y, 12.1, 0.5, text["summary"], size=20, bold=True, colour=WINE)
    deck.box(slide, 0.6, y + 0.55, 12.1, 0.5, text["proof"], size=18, colour=INK)


def results_slide(deck: Deck, facts: RunFacts, text: dict) -> None:
    slide = deck.slide(text["title"], text["notes"])
    for i, (label, value, detail) in enumerate(text["cards"]):
        x, y = 0.6 + (i % 2) * 3.2, 1.5 + (i // 2) * 1.75
        card = slide.shapes.add_shape(RECTANGLE, Inches(x), Inches(y), Inches(3.05), Inches(1.6))
        deck.fill(card, "#F7F2F3", "#E3D3D7")
        deck.box(slide, x + 0.12, y + 0.06, 2.85, 0.35, label, size=14, colour=GREY)
        deck.box(slide, x + 0.12, y + 0.4, 2.85, 0.6, value, size=24, bold=True, colour=WINE)
        deck.box(slide, x + 0.12, y + 1.0, 2.85, 0.55, detail, size=13, colour=INK)
    deck.box(slide, 0.6, 5.08, 6.3, 0.95, text["comparison"], size=14, bold=True, colour=WINE)
    deck.box(slide, 0.6, 6.1, 6.3, 0.8, text["prices"], size=13, colour=INK)
    split_chart(deck, slide, facts, text, 7.2, 1.45, 5.6, 5.45)


def top_products_slide(deck: Deck, facts: RunFacts, text: dict) -> None:
    slide = deck.slide(text["title"], text["notes"])
    top_products_chart(deck, slide, facts, text)
    deck.box(slide, 0.6, 6.6, 12.1, 0.4, text["legend"], size=13, colour=GREY)


def risks_slide(deck: Deck, text: dict) -> None:
    slide = deck.slide(text["title"], text["notes"])
    deck.box(slide, 0.6, 1.4, 12.1, 0.45, text["heading"], size=18, bold=True, colour=WINE)
    rows, standing = text["rows"], text["standing"]
    widths = [7.4, 1.7, 3.0]
    deck.table(slide, 0.6, 1.9, 12.1, rows, widths, size=15, header_size=14, row_h=0.45)
    y = 1.9 + 0.45 * len(rows) + 0.45
    deck.table(slide, 0.6, y, 12.1, standing, widths, size=15, header_size=14, row_h=0.45)
