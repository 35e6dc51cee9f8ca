"""The README says what the code does: its check catalogue and its commands are the real ones."""

from __future__ import annotations

import re

from bottleneck_pipeline.checks import catalogue_markdown
from conftest import REPO


def readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def test_check_catalogue_is_in_sync():
    text = readme()
    block = re.search(r"<!-- checks:begin -->\n(.*)\n<!-- checks:end -->", text, re.S).group(1)
    assert block == catalogue_markdown()


def test_readme_starts_with_the_two_commands_ci_runs():
    commands = re.findall(r"```bash\n(.*?)\n```", readme(), re.S)
    assert commands[0].endswith('pip install -e ".[dev]" && bottleneck run')
    assert commands[1] == ". .venv/bin/activate && python -m pytest -q"
    ci = (REPO / ".ci" / "run").read_text()
    assert "python -m pytest -q" in ci and 'pip install --quiet -e ".[dev]"' in ci
