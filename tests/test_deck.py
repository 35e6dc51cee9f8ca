"""The COPIL deck (scripts/make_docs.py presentation), read back with python-pptx.

Built from fresh runs of the bundled sample: the sample run itself (4 known warnings), copies of
its folder with the warnings or the data source changed, and a run compared with a previous
month written here (its CA and premium list chosen, so the comparison is computed by hand).
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from bottleneck_pipeline.cli import main as bottleneck
from conftest import REPO, SAMPLE

sys.path.insert(0, str(REPO / "scripts"))
import flow_model  # noqa: E402
from docs_generator import french, lineage  # noqa: E402
from docs_generator.deck import build_presentation  # noqa: E402

pptx = pytest.importorskip("pptx")

NBSP = "\u00a0"
SAMPLE_MARK = "Données d'exemple (jeu synthétique)"
# The sample's four warnings (data/generate_sample.py plants them), in the deck's words, with
# the workbook each is about and who acts on it.
SAMPLE_WARNINGS = [
    ("1 prix négatif", "erp.xlsx", "équipe ERP"),
    ("7 produits dont le statut de stock contredit la quantité", "erp.xlsx", "équipe ERP"),
    (
        f"Ventes hors rapport, sous le plafond de 1{NBSP}% : 20 unités vendues sur 5{NBSP}670…",
        "web.xlsx",
        "équipe web / e-commerce",
    ),
    ("7 liens vers un sku absent des produits de l'export web", "liaison.xlsx", "à désigner (COPIL)"),
]


# --- reading a deck back --------------------------------------------------------------------


def slide_texts(slide) -> str:
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if getattr(shape, "has_table", False) and shape.has_table:
            parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def deck_text(prs) -> str:
    return "\n".join(slide_texts(s) for s in prs.slides)


def slide_titled(prs, title: str):
    return next(s for s in prs.slides if title in slide_texts(s))


def tables(slide) -> list[list[tuple[str, ...]]]:
    return [
        [tuple(cell.text for cell in row.cells) for row in shape.table.rows]
        for shape in slide.shapes
        if getattr(shape, "has_table", False) and shape.has_table
    ]


def build(folder: Path, out: Path):
    return pptx.Presentation(str(build_presentation(folder, out)))


# --- the runs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample-run")
    assert bottleneck(["run", "--input", str(SAMPLE), "--output", str(out), "--period", "2026-11"]) == 0
    return out / "2026-11"


@pytest.fixture(scope="module")
def sample_deck(sample_run, tmp_path_factory):
    return build(sample_run, tmp_path_factory.mktemp("deck") / "deck.pptx")


def copy_run(folder: Path, target: Path, summary=None, quality=None) -> Path:
    """A copy of a run folder with its run summary and quality report edited."""
    shutil.copytree(folder, target)
    for name, edit in (("run_summary.json", summary), ("quality_report.json", quality)):
        if edit:
            data = json.loads((target / name).read_text(encoding="utf-8"))
            edit(data)
            (target / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return target


def keep_warnings(count: int):
    """Keep the first `count` warnings of a quality report; the others pass."""

    def edit(quality: dict) -> None:
        kept = 0
        for result in quality["results"]:
            if not result["passed"] and result["severity"] == "warn":
                kept += 1
                if kept > count:
                    result["passed"], result["message"] = True, ""
        quality["warnings"] = min(count, kept)
        quality["passed"] = quality["checks"] - quality["warnings"]

    return edit


# --- every slide says where its figures come from -----------------------------------------


def test_every_slide_of_a_sample_deck_is_marked_as_sample_data(sample_deck):
    assert len(sample_deck.slides) == 12
    for number, slide in enumerate(sample_deck.slides, 1):
        bands = [s for s in slide.shapes if s.name == "sample-band"]
        assert len(bands) == 1, f"slide {number} is not marked"
        assert bands[0].text_frame.text.startswith(SAMPLE_MARK)
    assert "novembre 2026, jeu d'exemple synthétique" in slide_texts(sample_deck.slides[0])


def test_a_deck_from_other_workbooks_is_not_marked(sample_run, tmp_path):
    def other_files(summary: dict) -> None:
        summary["sources"]["erp"]["sha256"] = "0" * 64  # not the bundled sample's erp.xlsx

    prs = build(copy_run(sample_run, tmp_path / "2026-11", summary=other_files), tmp_path / "deck.pptx")
    assert SAMPLE_MARK not in deck_text(prs)
    assert not [s.name for slide in prs.slides for s in slide.shapes if s.name == "sample-band"]
    assert "novembre 2026, fichiers réels du mois" in slide_texts(prs.slides[0])


# --- plurals, numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "count, written",
    [(0, f"0{NBSP}avertissement "), (1, f"1{NBSP}avertissement "), (2, f"2{NBSP}avertissements ")],
)
def test_the_warning_count_is_written_in_french_plural(sample_run, tmp_path, count, written):
    folder = copy_run(sample_run, tmp_path / "2026-11", quality=keep_warnings(count))
    prs = build(folder, tmp_path / "deck.pptx")
    checks = slide_texts(slide_titled(prs, "Les contrôles qualité"))
    assert f"89{NBSP}contrôles à chaque exécution · {89 - count}{NBSP}réussis · {written}ce mois-ci" in checks
    risks = slide_texts(slide_titled(prs, "Risques et points d'attention"))
    assert f"Ce mois-ci : {written}(non bloquants)" in risks
    everything = deck_text(prs) + "\n".join(s.notes_slide.notes_text_frame.text for s in prs.slides)
    assert "(s)" not in everything


def test_french_helpers():
    assert french.plural(0, "vin") == f"0{NBSP}vin"
    assert french.plural(1, "contrôle réussi") == f"1{NBSP}contrôle réussi"
    assert french.plural(2, "contrôle réussi") == f"2{NBSP}contrôles réussis"
    assert french.plural(1234, "vin premium", "vins premium") == f"1{NBSP}234{NBSP}vins premium"
    assert french.fr_euros(179361.09) == f"179{NBSP}361,09{NBSP}€"
    assert french.fr_signed(-3.5, 1, "%") == f"\u22123,5{NBSP}%"
    assert french.fr_signed(21, 0) == "+21"
    assert french.resolve_plural_marks("1 prix négatif(s) ; 20 unité(s) vendue(s) sur 5 670") == (
        "1 prix négatif ; 20 unités vendues sur 5 670"
    )


def test_the_results_slide_separates_counts_from_amounts(sample_deck):
    """Not "13 · 27 756,46 €" (read as one number): the count and the CA on separate lines."""
    text = slide_texts(slide_titled(sample_deck, "Résultats de novembre 2026"))
    assert f"13{NBSP}vins\n" in text + "\n" and f"27{NBSP}756,46{NBSP}€ de CA (15,5{NBSP}%)" in text
    assert " · 27" not in text and f"508{NBSP}vins" in text


# --- risks and decisions ------------------------------------------------------------------


def test_the_risks_table_names_who_acts_on_each_warning(sample_deck):
    slide = slide_titled(sample_deck, "Risques et points d'attention")
    this_month, standing = tables(slide)
    assert this_month[0] == ("Point d'attention", "Fichier", "Qui agit")
    assert this_month[1:] == SAMPLE_WARNINGS
    assert [row[1:] for row in standing[1:]] == [("erp.xlsx", "équipe ERP"), ("—", "équipe data")]
    assert standing[1][0].startswith("Un seul prix faux dans l'ERP déplace la moyenne")
    assert f"l'alerte de dérive (CA ± 30{NBSP}%, produits perdus > 20{NBSP}%) est le filet" in standing[2][0]


def test_the_decisions_asked_of_the_committee(sample_deck):
    text = slide_texts(slide_titled(sample_deck, "Décisions demandées au COPIL"))
    assert f"valider 1{NBSP}% des unités et du CA" in text
    assert f"30{NBSP}% de variation du CA et 20{NBSP}% de produits perdus" in text
    assert "erp.xlsx → équipe ERP ; web.xlsx → équipe web / e-commerce ; liaison.xlsx → à désigner (COPIL)" in text
    assert "le 15 de chaque mois à 9h, Europe/Paris (rapport du mois précédent)" in text
    assert "Prochaines étapes" in deck_text(sample_deck)


def test_the_deck_says_the_scheduled_run_reports_the_previous_month(sample_deck):
    [parent] = [f for f in flow_model.load_flows(REPO) if f.folder == "flows"]
    assert "dateAdd(-1, 'MONTHS'" in parent.doc["variables"]["period"]  # what the deck says is what the flow does
    assert parent.doc["triggers"][0]["cron"] == "0 9 15 * *"
    notes = slide_titled(sample_deck, "Kestra en mots simples").notes_slide.notes_text_frame.text
    assert "il produit le rapport du mois précédent (le 15 décembre 2026, celui de novembre 2026)" in notes


# --- month over month ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compared_run(sample_run, tmp_path_factory) -> Path:
    """The sample month again, with October published before it: CA 100 000,00 €, 500 products,
    and its premium list differing by one wine each way."""
    root = tmp_path_factory.mktemp("compared")
    october = root / "history" / "2026-10"
    shutil.copytree(sample_run, october)
    summary = json.loads((october / "run_summary.json").read_text(encoding="utf-8"))
    summary.update(period="2026-10", ca_total=100000.00, products=500)
    (october / "run_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    premium = (october / "machine" / "vins_premium.csv").read_text(encoding="utf-8-sig").splitlines()
    ordinary = (october / "machine" / "vins_ordinaires.csv").read_text(encoding="utf-8-sig").splitlines()
    # premium in November, ordinary in October: entered; ordinary in November, premium in October: left
    premium, ordinary = [premium[0], *premium[2:], ordinary[1]], [ordinary[0], premium[1], *ordinary[2:]]
    for name, lines in (("vins_premium.csv", premium), ("vins_ordinaires.csv", ordinary)):
        (october / "machine" / name).write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    args = ["--input", str(SAMPLE), "--output", str(root / "out"), "--history", str(root / "history")]
    assert bottleneck(["run", *args, "--period", "2026-11"]) == 0
    return root / "out" / "2026-11"


def test_the_comparison_with_the_previous_month(compared_run, tmp_path):
    comparison = json.loads((compared_run / "run_summary.json").read_text(encoding="utf-8"))["comparison"]
    assert (comparison["premium_entered"], comparison["premium_left"]) == (["4088"], ["5418"])
    prs = build(compared_run, tmp_path / "deck.pptx")
    # By hand: 179 361,09 - 100 000,00 = +79 361,09 €, +79,36 %; 521 - 500 = +21 products.
    expected = (
        f"Par rapport à octobre 2026 (100{NBSP}000,00{NBSP}€) : CA +79,36{NBSP}% (+79{NBSP}361,09{NBSP}€), "
        f"produits +21 ; premium : 1{NBSP}vin entré, 1{NBSP}vin sorti."
    )
    results = slide_titled(prs, "Résultats de novembre 2026")
    assert expected in slide_texts(results)
    notes = results.notes_slide.notes_text_frame.text
    assert "Vins entrés en premium : Domaine Lamarque Crozes-Hermitage L'Instant 2016 (4088)." in notes
    assert "Vins sortis du premium : Maison Vernet Champagne Brut Tradition 2011 (5418)." in notes
    # +79 % is beyond the 30 % drift threshold: a warning that no workbook owns, for the data team.
    this_month = tables(slide_titled(prs, "Risques et points d'attention"))[0]
    drift = [row for row in this_month if row[2] == "équipe data"]
    assert len(drift) == 1 and drift[0][1] == "—"


def test_without_a_previous_month_the_deck_says_so(sample_deck):
    text = slide_texts(slide_titled(sample_deck, "Résultats de novembre 2026"))
    assert "Pas de mois précédent publié : pas de comparaison ce mois-ci." in text


# --- the figures are the run's -----------------------------------------------------------------


def test_deck_shows_the_run_figures(sample_deck):
    """The sample month's figures, by the independent pandas method (bench/baseline.py)."""
    from bench.baseline import compute as reference_method

    reference = reference_method(SAMPLE)
    text = deck_text(sample_deck)
    assert f"{french_number(reference['ca_total'], 2)}{NBSP}€" in text
    for key in ("products", "premium_count", "ordinary_count"):
        assert french_number(reference[key]) in text, key
    assert all(s.has_notes_slide and s.notes_slide.notes_text_frame.text.strip() for s in sample_deck.slides)


def french_number(value, decimals=0) -> str:
    return f"{Decimal(str(value)):,.{decimals}f}".replace(",", NBSP).replace(".", ",")


def test_deck_counts_the_checks_of_the_quality_report(sample_deck, sample_run):
    quality = json.loads((sample_run / "quality_report.json").read_text(encoding="utf-8"))
    slide = slide_titled(sample_deck, "Les contrôles qualité")
    [table] = tables(slide)
    counts = {row[0]: int(row[1]) for row in table[1:]}
    assert sum(counts.values()) == quality["checks"]
    assert sorted(counts.values()) == sorted(Counter(r["family"] for r in quality["results"]).values())
    # The catalogue's size is the registry's: every registered gate ran, the rest are format checks.
    gates = {gate.id for gate in lineage.registered_gates()}
    assert gates <= {r["id"] for r in quality["results"]}
    assert f"Chacune des {len(gates)} règles du catalogue est mise en échec" in slide_texts(slide)


def test_deck_workflow_slide_has_a_shape_per_stage(sample_deck):
    slide = slide_titled(sample_deck, "Le workflow complet")
    names = {shape.name for shape in slide.shapes}
    parent = flow_model.read_flow(REPO / "flows" / "monthly_revenue.yml", REPO)
    for call in parent.subflow_calls():
        assert f"stage-{call.task_id}" in names, f"no shape for the stage {call.task_id}"
    assert any(name.startswith("e-") for name in names)  # connectors
    emu_per_inch = 914400
    for shape in slide.shapes:  # nothing drawn off the slide
        assert shape.left >= 0 and shape.top >= 0, shape.name
        assert shape.left + shape.width <= 13.34 * emu_per_inch and shape.top + shape.height <= 7.5 * emu_per_inch


def test_deck_top_products_chart_matches_the_extracts(sample_deck, sample_run):
    import csv

    wines = []
    for name in ("vins_premium.csv", "vins_ordinaires.csv"):
        with open(sample_run / "machine" / name, encoding="utf-8-sig", newline="") as handle:
            wines += [(Decimal(r["ca_eur"]), r["product_id"]) for r in csv.DictReader(handle, delimiter=";")]
    expected = [float(ca) for ca, _ in sorted(wines, key=lambda w: (-w[0], w[1]))[:10]]
    chart = next(
        shape.chart
        for s in sample_deck.slides
        for shape in s.shapes
        if shape.has_chart and shape.name == "chart-top-products"
    )
    assert list(chart.plots[0].series[0].values) == expected
