"""The French alert of a failed monthly run, composed in the parent flow's `errors` branch.

Kestra tells the parent flow only that a stage subflow FAILED. The check's message is logged in
the failed stage's own execution, whose `errors` branch keeps its ERROR lines in the namespace KV
store (key ``failure_<execution id>``). The parent's `errors` branch hands them, with its own
ERROR lines, to ``python -m bottleneck_pipeline.alerts``, which turns them into the text that the
log, Slack and e-mail send. Engine-tested: tests/kestra (FailureHandlingTest, MonthlyRunTest).
"""

from __future__ import annotations

import argparse
import re

from .labels_fr import STAGE_LABELS

# Kestra's own lines, which say nothing a person can act on beyond "the stage failed".
_ENGINE_NOISE = (
    "Subflow execution [[link",
    "Failed to extract outputs",
    "Failed to render output values",
    "Fail on a condition",
)
# Stack traces and Java exception names.
_TECHNICAL = ("at ", "java.", "io.kestra", "dev.failsafe", "Caused by", "...", "io.pebbletemplates")
# A workbook the schedule expects in the namespace's inbox/ folder, and that is not there.
_MISSING_NAMESPACE_FILE = re.compile(r"_files/(\S+?) \(No such file or directory\)")
_MAX_LINES = 8
_MAX_CHARS = 1500  # Slack and e-mail stay readable; the links lead to the rest


def actionable(text: str, namespace: str = "bottleneck.reporting") -> list[str]:
    """The lines a person can act on: Kestra's generic lines and stack traces left out, a Java
    error a business user would not read turned into what to do, each line once."""
    kept: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"^\[[\w-]+\]\s*", "", raw.strip())  # "[taskId] message" from the run's logs
        if missing := _MISSING_NAMESPACE_FILE.search(line):
            line = (
                f"Le fichier {missing.group(1)} est absent des fichiers du namespace {namespace} : "
                f"déposez-le (Kestra > Namespaces > {namespace} > Files > {missing.group(1)}), "
                "puis relancez l'exécution."
            )
        elif not line or line.startswith(_ENGINE_NOISE + _TECHNICAL):
            continue
        line = line.removeprefix("- ")
        if line not in kept:
            kept.append(line)
    return kept[:_MAX_LINES]


def compose(period: str, stage: str, stage_url: str, run_url: str, messages: list[str]) -> str:
    label = STAGE_LABELS.get(stage, "contrôle final")
    lines = [
        f"[BottleNeck] Échec du calcul mensuel du chiffre d'affaires, période {period}. "
        "Rien n'a été publié pour ce mois."
    ]
    if stage:
        lines.append(f"Étape en échec : {stage} ({label}).")
    if messages:
        lines.append("Ce qu'il faut corriger :")
        lines += [f"- {m}" for m in messages]
    else:
        lines.append("Aucun message de contrôle n'a été trouvé : voir les journaux de l'exécution.")
    if stage_url:
        lines.append(f"Détail de l'étape : {stage_url}")
    lines.append(f"Exécution : {run_url}")
    text = "\n".join(lines)
    return text if len(text) <= _MAX_CHARS else text[: _MAX_CHARS - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bottleneck_pipeline.alerts", description=__doc__)
    parser.add_argument("--period", required=True)
    parser.add_argument("--stage", default="", help="the failed task of the parent flow")
    parser.add_argument("--stage-messages", default="", help="the failed stage's ERROR lines")
    parser.add_argument("--run-errors", default="", help="the parent's own ERROR lines")
    parser.add_argument("--stage-url", default="")
    parser.add_argument("--run-url", required=True)
    args = parser.parse_args(argv)
    # The stage's lines first: they say what to fix; the run's own say at least what failed.
    messages = actionable(args.stage_messages + "\n" + args.run_errors)
    text = compose(args.period, args.stage, args.stage_url, args.run_url, messages)
    print(text)
    from kestra import Kestra

    Kestra.outputs({"alert": text})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
