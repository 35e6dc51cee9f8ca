"""The deck's two native charts: the premium / ordinary split and the top 10 products by CA.

Data labels are written by us (French numbers) and placed outside the bars: a label inside a
thin bar overflows it (the premium share of the wines, 2.5 % of the bar, did).
"""

from __future__ import annotations

from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from .deck_shapes import Deck
from .french import fr_euros, fr_percent
from .palette import GOLD, INK, WINE
from .run_facts import RunFacts

TOP_NAME_LENGTH = 60  # longer wine names are cut with "…": the category axis would cut them itself


def split_chart(deck: Deck, slide, facts: RunFacts, text: dict, x: float, y: float, w: float, h: float) -> None:
    """Premium and ordinary wines side by side, as shares of the wines and of the CA (%)."""
    s = facts.summary
    premium_ca, ordinary_ca = float(facts.premium_ca), float(facts.ordinary_ca)
    shares = {
        "premium": (s["premium_count"], premium_ca),
        "ordinary": (s["ordinary_count"], ordinary_ca),
    }
    totals = (s["premium_count"] + s["ordinary_count"], premium_ca + ordinary_ca)
    data = CategoryChartData(number_format="0%")
    data.categories = text["chart_categories"]
    for name, (count, ca) in zip(text["chart_series"], shares.values()):
        data.add_series(name, [count / totals[0] if totals[0] else 0, ca / totals[1] if totals[1] else 0])
    frame = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(x), Inches(y), Inches(w), Inches(h), data)
    frame.name = "chart-premium-split"
    chart = frame.chart
    chart.has_title = True
    chart.chart_title.text_frame.text = text["chart_title"]
    chart.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(16)
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    chart.legend.font.size = Pt(14)
    chart.category_axis.tick_labels.font.size = Pt(14)
    chart.value_axis.visible = False
    chart.value_axis.has_major_gridlines = False
    chart.value_axis.maximum_scale = 1.15  # room above the tallest bar for its label
    chart.value_axis.minimum_scale = 0
    plot = chart.plots[0]
    plot.gap_width = 70
    plot.overlap = 0
    for series, colour in zip(plot.series, (GOLD, WINE)):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = deck.rgb(colour)
    plot.has_data_labels = True
    plot.data_labels.position = XL_LABEL_POSITION.OUTSIDE_END
    for series, values in zip(plot.series, shares.values()):
        for k, value in enumerate(values):
            label = series.points[k].data_label
            label.has_text_frame = True
            label.position = XL_LABEL_POSITION.OUTSIDE_END
            label.text_frame.text = fr_percent(value, totals[k])
            run = label.text_frame.paragraphs[0].runs[0]
            run.font.size, run.font.bold = Pt(14), True
            run.font.color.rgb = deck.rgb(INK)


def short_name(name: str) -> str:
    return name if len(name) <= TOP_NAME_LENGTH else name[: TOP_NAME_LENGTH - 1].rstrip() + "…"


def top_products_chart(deck: Deck, slide, facts: RunFacts, text: dict) -> None:
    top = facts.top(10)
    data = CategoryChartData(number_format='#,##0" €"')
    data.categories = [short_name(w.name) + (" ★" if w.premium else "") for w in top]
    data.add_series(text["series"], [float(w.revenue) for w in top])
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.BAR_CLUSTERED, Inches(0.6), Inches(1.45), Inches(12.1), Inches(5.15), data
    )
    frame.name = "chart-top-products"
    chart = frame.chart
    chart.has_title = False
    chart.has_legend = False
    chart.category_axis.reverse_order = True
    chart.category_axis.tick_labels.font.size = Pt(12)
    chart.value_axis.visible = False
    chart.value_axis.has_major_gridlines = False
    chart.value_axis.maximum_scale = float(top[0].revenue) * 1.15 if top else None  # room for the labels
    # The plot starts at 46 % of the width: the wine names get the rest, uncut by the renderer.
    plot_area_layout(chart, x=0.46, y=0.02, w=0.50, h=0.96)
    plot = chart.plots[0]
    plot.gap_width = 45
    plot.series[0].format.fill.solid()
    plot.series[0].format.fill.fore_color.rgb = deck.rgb(WINE)
    plot.has_data_labels = True
    plot.data_labels.position = XL_LABEL_POSITION.OUTSIDE_END
    plot.data_labels.font.size = Pt(13)
    for point, wine in zip(plot.series[0].points, top):
        point.data_label.has_text_frame = True
        point.data_label.text_frame.text = fr_euros(wine.revenue, 0)
        point.data_label.text_frame.paragraphs[0].runs[0].font.size = Pt(13)


def plot_area_layout(chart, x: float, y: float, w: float, h: float) -> None:
    """Place the inner plot area at fractions of the chart frame (python-pptx has no API for it);
    the axis labels get the space around it."""
    plot_area = chart._chartSpace.chart.plotArea
    for old in plot_area.findall(qn("c:layout")):
        plot_area.remove(old)
    layout = plot_area.makeelement(qn("c:layout"), {})
    manual = layout.makeelement(qn("c:manualLayout"), {})
    layout.append(manual)
    for tag, value in (("layoutTarget", "inner"), ("xMode", "edge"), ("yMode", "edge")):
        manual.append(manual.makeelement(qn(f"c:{tag}"), {"val": value}))
    for tag, fraction in (("x", x), ("y", y), ("w", w), ("h", h)):
        manual.append(manual.makeelement(qn(f"c:{tag}"), {"val": f"{fraction:g}"}))
    plot_area.insert(0, layout)
