#!/usr/bin/env python3
"""Documents generated from the code: the lineage diagram and the steering-committee deck.

    python scripts/make_docs.py lineage                     # docs/lineage.drawio (+ docs/lineage.svg)
    python scripts/make_docs.py lineage --check             # exit 1 if the committed files are stale
    python scripts/make_docs.py presentation --run OUTPUT/PERIOD   # docs/presentation_copil.pptx

The work is done by the package ``scripts/docs_generator`` (one module per concern: lineage
model, layout, draw.io and SVG writers, run facts, the deck and its French text); this is the
command line. See docs/DOCS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docs_generator import DRAWIO, PPTX, REPO, SVG
from docs_generator.drawio import to_drawio
from docs_generator.lineage import build_lineage
from docs_generator.svg import to_svg


def lineage_files(root: Path, drawio: Path, svg: Path | None) -> list[tuple[Path, str]]:
    """(path, text) of the diagram and, unless skipped, its SVG preview, from the flows now."""
    model = build_lineage(root)
    return [(drawio, to_drawio(model))] + ([(svg, to_svg(model))] if svg else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root", type=Path, default=REPO, help="repository holding flows/ and subflows/ (default: this one)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lineage = sub.add_parser("lineage", help="write the draw.io lineage diagram (and its SVG preview) from the flows")
    lineage.add_argument("--output", type=Path, default=None, help=f"default: {DRAWIO}")
    lineage.add_argument("--svg", type=Path, default=None, help=f"SVG preview (default: {SVG}; 'none' to skip)")
    lineage.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the files differ from the flows"
    )
    presentation = sub.add_parser("presentation", help="write the COPIL deck from a run folder")
    presentation.add_argument("--run", type=Path, required=True, help="a published run folder, OUTPUT/PERIOD")
    presentation.add_argument("--output", type=Path, default=None, help=f"default: {PPTX}")
    args = parser.parse_args(argv)
    root = args.root.resolve()

    if args.command == "lineage":
        drawio = args.output or root / DRAWIO
        svg = None if str(args.svg) == "none" else (args.svg or root / SVG)
        files = lineage_files(root, drawio, svg)
        if args.check:
            stale = [str(p) for p, text in files if not p.is_file() or p.read_text(encoding="utf-8") != text]
            if stale:
                print(f"stale: {', '.join(stale)}; run: python scripts/make_docs.py lineage", file=sys.stderr)
                return 1
            return 0
        for path, text in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
        return 0

    from docs_generator.deck import build_presentation  # python-pptx: only for the deck

    output = args.output or root / PPTX
    print(f"wrote {build_presentation(args.run, output, root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
