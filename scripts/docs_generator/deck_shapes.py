"""Small helpers over python-pptx: blank slides with a title, a footer and speaker notes, text
boxes, bullets, tables, and the band that marks every slide of a deck built from sample data."""

from __future__ import annotations

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.dml import MSO_LINE_DASH_STYLE
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from .palette import GOLD, GREY, INK, WINE

SLIDE_WIDTH, SLIDE_HEIGHT = 13.333, 7.5  # inches, 16:9
SAMPLE_BAND_NAME = "sample-band"


class Deck:
    """A 16:9 deck; each slide gets its title, footer, number, notes and, for a deck built from
    sample data, the band that says so."""

    def __init__(self, footer: str, sample_band: str | None):
        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = Inches(SLIDE_WIDTH), Inches(SLIDE_HEIGHT)
        self.footer, self.sample_band = footer, sample_band
        self.number = 0

    def slide(self, title: str | None, notes: str):
        """A blank slide; with a title, also the gold rule, the footer and the slide number."""
        slide = self.prs.slides.add_slide(self.prs.slide_layouts[6])
        self.number += 1
        if title:
            self.box(slide, 0.6, 0.35, 12.1, 0.9, title, size=34, bold=True, colour=WINE)
            bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(0.6), Inches(1.22), Inches(1.4), Pt(4))
            self.fill(bar, GOLD)
            self.box(slide, 0.6, 7.0, 9, 0.35, self.footer, size=11, colour=GREY)
            self.box(slide, 12.0, 7.0, 0.8, 0.35, str(self.number), size=11, colour=GREY, align="right")
        slide.notes_slide.notes_text_frame.text = notes
        return slide

    def mark_sample(self, slide) -> None:
        """The band across the top of a slide built from sample data (drawn last: on top)."""
        if not self.sample_band:
            return
        band = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, self.prs.slide_width, Inches(0.3))
        band.name = SAMPLE_BAND_NAME
        self.fill(band, "#FFF4D6", GOLD)
        frame = band.text_frame
        frame.margin_top = frame.margin_bottom = 0
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        run = frame.paragraphs[0].add_run()
        run.text = self.sample_band
        run.font.size, run.font.bold, run.font.name = Pt(12), True, "Arial"
        run.font.color.rgb = self.rgb(WINE)
        frame.paragraphs[0].alignment = PP_ALIGN.CENTER

    def save(self, path, title: str, author: str) -> None:
        for slide in self.prs.slides:
            self.mark_sample(slide)
        self.prs.core_properties.title = title
        self.prs.core_properties.author = author
        path.parent.mkdir(parents=True, exist_ok=True)
        self.prs.save(path)

    @staticmethod
    def rgb(colour: str) -> RGBColor:
        return RGBColor.from_string(colour.lstrip("#"))

    def fill(self, shape, colour: str | None, line: str | None = None, dashed: bool = False):
        if colour and colour != "none":
            shape.fill.solid()
            shape.fill.fore_color.rgb = self.rgb(colour)
        else:
            shape.fill.background()
        if line:
            shape.line.color.rgb = self.rgb(line)
            if dashed:
                shape.line.dash_style = MSO_LINE_DASH_STYLE.DASH
        else:
            shape.line.fill.background()
        self.no_shadow(shape)

    @staticmethod
    def no_shadow(shape):
        """No shadow, in PowerPoint (empty effect list) and LibreOffice (no theme effect)."""
        shape.shadow.inherit = False
        style = shape._element.find(qn("p:style"))
        if style is not None:
            style.find(qn("a:effectRef")).set("idx", "0")

    def box(self, slide, x, y, w, h, text, size=20, bold=False, colour=INK, align="left", font="Arial", anchor="top"):
        shape = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        frame = shape.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = {"top": MSO_ANCHOR.TOP, "middle": MSO_ANCHOR.MIDDLE}[anchor]
        for i, line in enumerate(text.split("\n") if isinstance(text, str) else text):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.alignment = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER, "right": PP_ALIGN.RIGHT}[align]
            run = paragraph.add_run()
            run.text = line
            run.font.size, run.font.bold, run.font.name = Pt(size), bold, font
            run.font.color.rgb = self.rgb(colour)
        return shape

    def bullets(self, slide, x, y, w, h, items, size=24, space=14):
        """items: strings, or (bold lead, rest) pairs."""
        shape = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        frame = shape.text_frame
        frame.word_wrap = True
        for i, item in enumerate(items):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.space_after = Pt(space)
            lead, rest = item if isinstance(item, tuple) else ("", item)
            for text, bold, colour in (("▪ ", False, GOLD), (lead, True, WINE), (rest, False, INK)):
                if text:
                    run = paragraph.add_run()
                    run.text = text
                    run.font.size, run.font.bold, run.font.name = Pt(size), bold, "Arial"
                    run.font.color.rgb = self.rgb(colour)
        return shape

    def table(self, slide, x, y, w, rows, widths, size=18, header_size=16, row_h=0.55):
        shape = slide.shapes.add_table(
            len(rows), len(rows[0]), Inches(x), Inches(y), Inches(w), Inches(row_h * len(rows))
        )
        table = shape.table
        for j, width in enumerate(widths):
            table.columns[j].width = Inches(width)
        for i, row in enumerate(rows):
            table.rows[i].height = Inches(row_h)
            for j, value in enumerate(row):
                cell = table.cell(i, j)
                cell.text = ""
                run = cell.text_frame.paragraphs[0].add_run()
                run.text = str(value)
                run.font.name = "Arial"
                run.font.size = Pt(header_size if i == 0 else size)
                run.font.bold = i == 0 or j == 0
                run.font.color.rgb = self.rgb("#FFFFFF" if i == 0 else (WINE if j == 0 else INK))
                cell.fill.solid()
                cell.fill.fore_color.rgb = self.rgb(WINE if i == 0 else ("#F7F2F3" if i % 2 else "#FFFFFF"))
                cell.margin_top = cell.margin_bottom = Inches(0.04)
        return shape
