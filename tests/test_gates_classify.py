"""The classify gates (checks/classify.py), each shown failing alone (tests/test_gates.py says how),
around the base month's z boundary: a wine at z = 2 exactly (ordinary) and one at z = 2.05."""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

import pytest

from bottleneck_pipeline import extracts, pipeline
from gate_month import (
    Case,
    Where,
    assert_fails_alone,
    base_months,
    by_id,
    cell,
    edit_extracts,
    on,
    run_case,
)


def move(product_id: str, source: str) -> Callable[[Where], None]:
    """A wine written in the other extract (source: 'premium' or 'ordinary')."""

    def defect(w: Where) -> None:
        def edit(premium: list[dict], ordinary: list[dict]) -> None:
            take, give = (premium, ordinary) if source == "premium" else (ordinary, premium)
            wine = by_id(take, product_id)
            take.remove(wine)
            give.append(wine)

        edit_extracts(w.work / "classify", edit)

    return defect


def in_ordinary(edit: Callable[[list[dict]], None], french_only: bool = False) -> Callable[[Where], None]:
    def defect(w: Where) -> None:
        edit_extracts(w.work / "classify", lambda premium, ordinary: edit(ordinary), french_only)

    return defect


def swap_z(a: str, b: str) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        ra, rb = by_id(rows, a), by_id(rows, b)
        ra["z_score"], rb["z_score"] = rb["z_score"], ra["z_score"]

    return edit


def repriced(product_id: str, price: str, z: float) -> Callable[[list[dict]], None]:
    def edit(rows: list[dict]) -> None:
        wine = by_id(rows, product_id)
        kind = Decimal if isinstance(wine["prix_eur"], Decimal) else float  # as the reader gives it
        wine["prix_eur"], wine["z_score"] = kind(price), z

    return edit


CASES = [
    # a wine under another product id in the ordinary extract: one absent, one unknown
    Case(
        "classify.partition.complete_and_disjoint",
        in_ordinary(lambda rows: by_id(rows, "4004").__setitem__("product_id", "4099")),
        2,
        0,
        at="output:classify",
    ),
    # the wine at z = 2 exactly written in the premium extract (premium is z > 2)
    Case("classify.premium.above_threshold", move("4019", "ordinary"), 1, 0, at="output:classify", words="4019"),
    # the wine at z = 2.05 written in the ordinary extract (which leaves no premium wine: the warning)
    Case(
        "classify.ordinary.at_or_below_threshold",
        move("4020", "premium"),
        1,
        0,
        at="output:classify",
        also=("classify.premium.not_empty",),
        words="4020",
    ),
    # the z-scores of the 60 and 63 EUR wines swapped: the set of z-scores is unchanged (2 wines, each
    # in both forms of the extract: 4 rows)
    Case("classify.zscore.recomputed", in_ordinary(swap_z("4001", "4003")), 4, 0, at="output:classify"),
    # a wine's name changed in the French extract only: the machine/ form, for other teams' programs,
    # no longer says the same
    Case(
        "classify.extracts.machine_form_matches",
        in_ordinary(lambda rows: by_id(rows, "4010").__setitem__("nom_du_vin", "Cuvée 4011"), french_only=True),
        1,
        0,
        at="output:classify",
        words="4010",
    ),
    # the 95 EUR wine (z = -0.25) written at 96 EUR with the z-score that goes with it, -0.2: each line
    # agrees with its own price, but the z-scores no longer average 0 (0.05 / 20 = 0.0025)
    Case(
        "classify.zscore.standardized",
        in_ordinary(repriced("4004", "96.00", -0.2)),
        {"moyenne": pytest.approx(0.0025)},
        {"moyenne": 0, "ecart_type": 1},
        at="output:classify",
    ),
    # the premium wine's price typed 14.10 instead of 141: no wine above the cut-off
    Case(
        "classify.premium.not_empty",
        on(lambda t: cell(t, "erp", 4020, "price", 14.1)),
        0,
        "> 0",
        words="aucun prix ne dépasse le prix seuil",
    ),
]


@pytest.fixture(scope="module")
def base_runs(tmp_path_factory):
    return base_months(tmp_path_factory)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_gate_fails_alone(case: Case, base_runs, tmp_path):
    assert_fails_alone(case, *run_case(case, base_runs, tmp_path))


def test_the_base_month_is_classified_at_the_z_boundary(base_runs):
    """The 140 EUR wine has z = 2 exactly: ordinary; the 141 EUR wine, z = 2.05: premium."""
    root, _ = base_runs["month"]
    folder = root / "work" / "classify"
    premium = extracts.read_extract(folder / pipeline.labels_fr.PREMIUM_FILE).to_pylist()
    ordinary = extracts.read_extract(folder / pipeline.labels_fr.ORDINARY_FILE).to_pylist()
    assert [(w["product_id"], w["z_score"]) for w in premium] == [("4020", pytest.approx(2.05, abs=0.005))]
    assert by_id(ordinary, "4019")["z_score"] == pytest.approx(2.0, abs=0.005) and len(ordinary) == 19
