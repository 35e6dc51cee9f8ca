"""The report and classify gates guard against our own code going wrong, which no input defect
can provoke: each test runs the stages on the sample, tampers with one output file the way a bug
would, and asserts that exactly the gate meant to catch it fails (and that it passes untouched)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from bottleneck_pipeline import pipeline
from bottleneck_pipeline.checks.model import summary_fr
from bottleneck_pipeline.extracts import MACHINE, machine_path, read_extract, write_extract
from bottleneck_pipeline.storage import read_parquet, write_parquet
from conftest import SAMPLE


@pytest.fixture(scope="module")
def stages(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("work")
    xlsx = {name: SAMPLE / f"{name}.xlsx" for name in pipeline.TABLES}
    pipeline.ingest(**xlsx, out_dir=work / "ingest")
    pipeline.clean(**{n: work / "ingest" / f"{n}.parquet" for n in pipeline.TABLES}, out_dir=work / "clean")
    pipeline.merge(**{n: work / "clean" / f"{n}.parquet" for n in pipeline.TABLES}, out_dir=work / "merge")
    pipeline.report(work / "merge" / "products.parquet", "2026-10", 2.0, work / "report")
    pipeline.classify(work / "report" / "revenue.parquet", 2.0, work / "classify")
    return work


def failing(results) -> list[str]:
    return sorted(r.id for r in results if not r.passed and r.severity == "error")


def check_report(work: Path) -> list[str]:
    return failing(
        pipeline.check_stage("report", {"products": work / "merge" / "products.parquet"}, work / "report", {})
    )


def check_classify(work: Path, threshold: float = 2.0) -> list[str]:
    return failing(
        pipeline.check_stage(
            "classify", {"revenue": work / "report" / "revenue.parquet"}, work / "classify", {"z_threshold": threshold}
        )
    )


@pytest.fixture
def copy(stages, tmp_path) -> Path:
    shutil.copytree(stages, tmp_path / "work")
    return tmp_path / "work"


def test_untouched_outputs_pass_every_gate(stages):
    for stage, inputs in (
        ("clean", {n: stages / "ingest" / f"{n}.parquet" for n in pipeline.TABLES}),
        ("merge", {n: stages / "clean" / f"{n}.parquet" for n in pipeline.TABLES}),
    ):
        assert failing(pipeline.check_stage(stage, inputs, stages / stage, {})) == []
    assert check_report(stages) == []
    assert check_classify(stages) == []


def tamper_revenue(work: Path, row: int, column: str, value) -> None:
    table, provenance = read_parquet(work / "report" / "revenue.parquet")
    values = table[column].to_pylist()
    values[row] = value
    table = table.set_column(
        table.schema.get_field_index(column), column, pa.array(values, table.schema.field(column).type)
    )
    write_parquet(table, work / "report" / "revenue.parquet", provenance)


def test_a_wrong_revenue_line_is_caught(copy):
    tamper_revenue(copy, 3, "revenue_eur", Decimal("1.00"))
    assert check_report(copy) == [
        "report.revenue.line_is_price_times_quantity",
        "report.revenue.total_is_sum_of_lines",
        "report.workbook.matches_revenue",
    ]


def test_a_reported_total_that_is_not_the_sum_is_caught(copy):
    manifest_file = copy / "report" / "report_manifest.json"
    manifest_file.write_text(manifest_file.read_text().replace('"ca_total": "', '"ca_total": "1'))
    assert check_report(copy) == ["report.revenue.total_is_sum_of_lines"]


def test_a_lost_report_line_is_caught(copy):
    table, provenance = read_parquet(copy / "report" / "revenue.parquet")
    write_parquet(table.slice(1), copy / "report" / "revenue.parquet", provenance)
    assert "report.revenue.one_line_per_product" in check_report(copy)


def test_a_missing_workbook_is_caught(copy):
    (copy / "report" / "rapport_ca.xlsx").unlink()
    assert check_report(copy) == ["report.workbook.matches_revenue"]


def extract(work: Path, name: str) -> pa.Table:
    """An extract as the classify stage computed it (the machine form: full-precision z-scores)."""
    return read_extract(machine_path(work / "classify", name))


def rewrite(work: Path, name: str, table: pa.Table) -> None:
    """A classify bug: both forms of the extract written from the same wrong table."""
    write_extract(work / "classify" / name, table)
    write_extract(machine_path(work / "classify", name), table, MACHINE)


def with_z(table: pa.Table, z: list[float]) -> pa.Table:
    return table.set_column(table.schema.get_field_index("z_score"), "z_score", pa.array(z))


def test_a_wine_in_both_extracts_is_caught(copy):
    premium = extract(copy, "vins_premium.csv")
    ordinary = extract(copy, "vins_ordinaires.csv")
    rewrite(copy, "vins_ordinaires.csv", pa.concat_tables([ordinary, premium.slice(0, 1)]))
    assert "classify.partition.complete_and_disjoint" in check_classify(copy)
    assert "classify.ordinary.at_or_below_threshold" in check_classify(copy)


def test_a_lost_wine_is_caught(copy):
    ordinary = extract(copy, "vins_ordinaires.csv")
    rewrite(copy, "vins_ordinaires.csv", ordinary.slice(1))
    assert check_classify(copy) == ["classify.partition.complete_and_disjoint", "classify.zscore.standardized"]


def test_a_wrong_zscore_is_caught(copy):
    ordinary = extract(copy, "vins_ordinaires.csv")
    z = ordinary["z_score"].to_pylist()
    z[0] += 0.01
    rewrite(copy, "vins_ordinaires.csv", with_z(ordinary, z))
    assert check_classify(copy) == ["classify.zscore.recomputed", "classify.zscore.standardized"]


def test_a_french_extract_that_differs_from_the_machine_one_is_caught(copy):
    """Only the French deliverable is wrong (a lost wine): the machine/ form tells."""
    ordinary = extract(copy, "vins_ordinaires.csv")
    write_extract(copy / "classify" / "vins_ordinaires.csv", ordinary.slice(1))
    assert check_classify(copy) == [
        "classify.extracts.machine_form_matches",
        "classify.partition.complete_and_disjoint",
    ]


def test_a_french_zscore_that_is_not_the_rounded_value_is_caught(copy):
    """A printed z-score off by 0.01 (not the 2-decimal rounding of the real one)."""
    ordinary = extract(copy, "vins_ordinaires.csv")
    z = ordinary["z_score"].to_pylist()
    z[0] = round(z[0], 2) + 0.01
    write_extract(copy / "classify" / "vins_ordinaires.csv", with_z(ordinary, z))
    assert check_classify(copy) == ["classify.extracts.machine_form_matches", "classify.zscore.recomputed"]


def test_without_the_machine_form_the_french_extracts_are_still_fully_checked(copy):
    """A gate handed the French files only (a Kestra classify_test given only them): the rows,
    the sides of the threshold and the printed z-scores are still checked."""
    ordinary = extract(copy, "vins_ordinaires.csv")
    shutil.rmtree(copy / "classify" / "machine")
    assert check_classify(copy) == []
    z = ordinary["z_score"].to_pylist()
    z[0] = round(z[0], 2) + 0.01
    write_extract(copy / "classify" / "vins_ordinaires.csv", with_z(ordinary, z))
    assert check_classify(copy) == ["classify.zscore.recomputed"]
    write_extract(copy / "classify" / "vins_ordinaires.csv", ordinary.slice(1))
    assert check_classify(copy) == ["classify.partition.complete_and_disjoint"]


def test_extracts_made_with_another_threshold_are_caught(copy):
    # the extracts were made with z > 2; checked against z > 1.5 they put wines on the wrong side
    assert check_classify(copy, 1.5) == ["classify.ordinary.at_or_below_threshold"]


def test_french_summary_names_the_failed_gate(copy):
    tamper_revenue(copy, 0, "revenue_eur", Decimal("0.00"))
    results = pipeline.check_stage("report", {"products": copy / "merge" / "products.parquet"}, copy / "report", {})
    text = summary_fr(results)
    assert text.startswith("2/5 contrôles réussis, 3 bloquant(s).")
    assert "BLOQUANT [report.revenue.line_is_price_times_quantity]" in text


def test_warnings_count_exactly_what_the_workbooks_hold(stages, sample_dir):
    """The warn-level gates on the sample, against counts computed here from the raw workbooks."""
    from conftest import read_workbook

    erp_columns, erp_rows = read_workbook(sample_dir / "erp.xlsx")
    erp_rows = [dict(zip(erp_columns, r)) for r in erp_rows]
    unique_erp = {tuple(r.values()) for r in erp_rows}  # exact duplicates counted once
    negative = {r[0] for r in unique_erp if r[2] is not None and r[2] < 0}
    contradicting = {
        r[0] for r in unique_erp if (r[4] == "instock" and r[3] <= 0) or (r[4] == "outofstock" and r[3] > 0)
    }
    web_columns, web_rows = read_workbook(sample_dir / "web.xlsx")
    web_skus = {
        str(r[web_columns.index("sku")])
        for r in web_rows
        if r[web_columns.index("post_type")] == "product" and r[web_columns.index("sku")] is not None
    }
    _, links = read_workbook(sample_dir / "liaison.xlsx")
    dangling = {str(p) for p, s in links if s is not None and str(s) not in web_skus}

    inputs = {n: stages / "ingest" / f"{n}.parquet" for n in pipeline.TABLES}
    clean = {r.id: r for r in pipeline.check_stage("clean", inputs, stages / "clean", {})}
    assert clean["clean.erp.no_negative_price"].offending_count == len(negative) > 0
    assert {r["product_id"] for r in clean["clean.erp.no_negative_price"].rows} == {str(p) for p in negative}
    assert clean["clean.erp.stock_status_consistent"].offending_count == len(contradicting) > 0
    merged = {
        r.id: r
        for r in pipeline.check_stage(
            "merge", {n: stages / "clean" / f"{n}.parquet" for n in pipeline.TABLES}, stages / "merge", {}
        )
    }
    orphans = merged["merge.orphans.links_to_missing_web_product"]
    assert orphans.offending_count == len(dangling) > 0 and orphans.severity == "warn"
