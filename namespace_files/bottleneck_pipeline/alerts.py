"""The French alert of a failed monthly run, composed in the parent flow's `errors` branch.

Kestra tells the parent flow only that a stage subflow FAILED. The check's message is logged in
the failed stage's own execution (its Fail task), so the `errors` branch fetches that
execution's ERROR logs (core task `log.Fetch`, an Ion file of log entries, one per line) and
runs ``python -m bottleneck_pipeline.alerts``, which turns them into the text that the log,
Slack and e-mail send. Engine-tested: tests/kestra FailureHandlingTest.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .labels_fr import STAGE_LABELS

# Kestra's own lines that say nothing a person can act on beyond "the stage failed".
_ENGINE_NOISE = ("Subflow execution [[link", "Failed to extract outputs", "Failed to render output values",
                 "Fail on a condition")
_MAX_MESSAGES = 5
_MAX_CHARS = 1500  # Slack and e-mail stay readable; the links lead to the rest

_ION_FIELD = re.compile(r'(?<![\w$])(taskId|message)\s*:\s*"((?:[^"\\]|\\.)*)"', re.S)
_ION_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f",
                   "v": "\v", '"': '"', "'": "'", "\\": "\\", "/": "/", "?": "?"}


def _unescape(text: str) -> str:
    def one(match: re.Match) -> str:
        code = match.group(1)
        if code[0] in "xuU" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)
    return _ION_ESCAPE.sub(one, text)


def read_log_messages(path: Path) -> list[tuple[str, str]]:
    """(taskId, message) of each log entry in a file written by Kestra's log.Fetch task."""
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = {name: _unescape(value) for name, value in _ION_FIELD.findall(line)}
        if "message" in fields:
            entries.append((fields.get("taskId", ""), fields["message"]))
    return entries


# A workbook the schedule expects in the namespace's inbox/ folder, and that is not there.
_MISSING_NAMESPACE_FILE = re.compile(r"_files/(\S+?) \(No such file or directory\)")


def actionable(entries: list[tuple[str, str]], namespace: str = "bottleneck.reporting") -> list[str]:
    """The messages a person can act on: Kestra's generic lines and stack traces left out,
    Java errors a business user would not read turned into what to do."""
    seen: list[str] = []
    for _, message in entries:
        first_line = message.strip().splitlines()[0] if message.strip() else ""
        if not first_line or first_line.startswith(_ENGINE_NOISE):
            continue
        if missing := _MISSING_NAMESPACE_FILE.search(first_line):
            text = (f"Le fichier {missing.group(1)} est absent des fichiers du namespace {namespace} : "
                    f"déposez-le (Kestra > Namespaces > {namespace} > Files > {missing.group(1)}), "
                    "puis relancez l'exécution.")
        else:
            text = message.strip() if not first_line.startswith(("java.", "io.kestra", "dev.")) else first_line
        if text not in seen:
            seen.append(text)
    return seen[:_MAX_MESSAGES]


def compose(period: str, stage: str, stage_url: str, run_url: str, messages: list[str]) -> str:
    label = STAGE_LABELS.get(stage, "contrôle final")
    lines = [f"[BottleNeck] Échec du calcul mensuel du chiffre d'affaires, période {period}. "
             "Rien n'a été publié pour ce mois."]
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
    return text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bottleneck_pipeline.alerts", description=__doc__)
    parser.add_argument("--period", required=True)
    parser.add_argument("--stage", default="", help="the failed task of the parent flow")
    parser.add_argument("--stage-logs", type=Path, help="the failed stage's ERROR logs (log.Fetch file)")
    parser.add_argument("--stage-url", default="")
    parser.add_argument("--run-url", required=True)
    parser.add_argument("--run-logs", type=Path, help="the run's own ERROR logs (log.Fetch file)")
    args = parser.parse_args(argv)
    # The stage's messages first: they say what to fix; the run's own say at least what failed.
    entries = [entry for logs in (args.stage_logs, args.run_logs) if logs and logs.is_file()
               for entry in read_log_messages(logs) if entry[0] not in ("compose_alert", "log_failure")]
    text = compose(args.period, args.stage, args.stage_url, args.run_url, actionable(entries))
    print(text)
    from kestra import Kestra

    Kestra.outputs({"alert": text})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
