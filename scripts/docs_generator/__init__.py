"""The documents generated from the code: the lineage diagram and the steering-committee deck.

``python scripts/make_docs.py`` is the command; this package does the work, one module per concern:

- ``lineage``: the lineage model, nodes and edges read from the Kestra flows (``flow_model``);
- ``layout``: boxes and edge routes in pixels, shared by every writer;
- ``palette``: colours and shapes of each kind of node, shared by every writer;
- ``drawio`` and ``svg``: the draw.io XML (deterministic) and its SVG preview;
- ``run_facts``: what a published run folder says (run summary, quality report, extracts);
- ``french``: French numbers, money, percentages and plurals;
- ``deck_text``: every French sentence of the deck (``bottleneck_pipeline.labels_fr`` for the
  labels the deliverables share);
- ``deck_shapes``, ``deck_workflow``, ``deck_charts`` and ``deck``: the python-pptx deck.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
for _path in (SCRIPTS, REPO / "namespace_files"):  # flow_model, and the package without an install
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

DRAWIO = Path("docs/lineage.drawio")
SVG = Path("docs/lineage.svg")
PPTX = Path("docs/presentation_copil.pptx")
