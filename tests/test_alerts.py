"""The French alert of a failed Kestra run (bottleneck_pipeline.alerts), from the lines Kestra
gives it. The engine tests (tests/kestra) show the same text end to end; these pin the rules."""

from __future__ import annotations

from bottleneck_pipeline.alerts import actionable, compose

# What a stage's record_failure task kept for a conflicting price (the Fail task's message, then
# Kestra's own line for the failed gate), as seen in the engine tests.
STAGE_LINES = (
    "Étape clean (nettoyage) arrêtée par le contrôle qualité : rien n'a été publié.\n"
    "- [clean.erp.unique_product_id] erp.xlsx : 1 product_id(s) apparaissent plusieurs fois avec des "
    "valeurs différentes (prix ou stock) : 3802 (lignes 2, 604).\n"
    "Fail on a condition\n"
)
RUN_LINES = (
    '[clean] Subflow execution [[link execution="4ar7" flowId="clean" namespace="bottleneck.reporting"]] '
    "ends in FAILED state\n"
)


def test_the_checks_message_is_kept_and_kestras_own_lines_are_not():
    assert actionable(STAGE_LINES + RUN_LINES) == [
        "Étape clean (nettoyage) arrêtée par le contrôle qualité : rien n'a été publié.",
        "[clean.erp.unique_product_id] erp.xlsx : 1 product_id(s) apparaissent plusieurs fois avec des "
        "valeurs différentes (prix ou stock) : 3802 (lignes 2, 604).",
    ]


def test_a_missing_inbox_workbook_says_where_to_drop_it_once():
    line = (
        "java.io.FileNotFoundException: /app/storage/main/bottleneck/reporting/_files/inbox/erp.xlsx "
        "(No such file or directory)"
    )
    trace = "\tat io.kestra.core.storages.InternalStorage.getFile(InternalStorage.java:120)"
    assert actionable("\n".join([line, trace, line, line])) == [
        "Le fichier inbox/erp.xlsx est absent des fichiers du namespace bottleneck.reporting : déposez-le "
        "(Kestra > Namespaces > bottleneck.reporting > Files > inbox/erp.xlsx), puis relancez l'exécution."
    ]


def test_the_runs_own_lines_lose_their_task_prefix():
    assert actionable("[finalize] Livrable manquant : vins_premium.csv\n") == ["Livrable manquant : vins_premium.csv"]


def test_the_alert_names_period_stage_fix_and_links():
    text = compose(
        "2026-09",
        "clean",
        "http://k/ui/main/executions/bottleneck.reporting/clean/A",
        "http://k/ui/main/executions/bottleneck.reporting/monthly_revenue/B",
        ["Corrigez erp.xlsx."],
    )
    assert text.splitlines() == [
        "[BottleNeck] Échec du calcul mensuel du chiffre d'affaires, période 2026-09. Rien n'a été publié pour ce mois.",
        "Étape en échec : clean (nettoyage).",
        "Ce qu'il faut corriger :",
        "- Corrigez erp.xlsx.",
        "Détail de l'étape : http://k/ui/main/executions/bottleneck.reporting/clean/A",
        "Exécution : http://k/ui/main/executions/bottleneck.reporting/monthly_revenue/B",
    ]


def test_a_failure_outside_the_stages_is_the_final_check_and_says_where_to_look():
    text = compose("2026-09", "deliverables_ready", "", "http://k/run", [])
    assert "Étape en échec : deliverables_ready (contrôle final)." in text
    assert "Aucun message de contrôle n'a été trouvé : voir les journaux de l'exécution." in text
    assert "Détail de l'étape" not in text


def test_a_long_alert_is_cut_for_slack_and_mail():
    text = compose("2026-09", "clean", "", "http://k/run", ["x" * 400] * 8)
    assert len(text) == 1500 and text.endswith("…")
