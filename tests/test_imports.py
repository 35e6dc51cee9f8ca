"""The package has no import cycle (issue 15).

The graph is read from the source (ast), so an import inside a function counts like one at the top
of a module: a cycle hidden in a function still ties the two modules together, and only works as
long as nobody moves the import. An edge A -> B means "importing A may run B":

- ``from .x import y`` gives an edge to ``x.y`` when that is a module, else to ``x``;
- importing ``p.q.m`` also runs the package ``p.q`` (its ``__init__``) first, unless A lies inside
  ``p.q`` (Python has already started that package before A): an edge to every such package.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from conftest import REPO

PACKAGE_DIR = REPO / "namespace_files" / "bottleneck_pipeline"


def module_files(package_dir: Path) -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def imported_names(module: str, path: Path, is_package: bool, modules: set[str]) -> list[tuple[str, int]]:
    """(dotted name, line) of every import in the file, at any depth, relative ones resolved: the
    module imported, or for ``from m import name`` the module ``m.name`` when it is one, else ``m``
    (whose code must have defined ``name``)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append((name if name in modules else base, node.lineno))
    return found


def import_graph(package_dir: Path) -> dict[str, dict[str, int]]:
    """module -> {module it may run: line of the import}, inside the package only."""
    modules = module_files(package_dir)
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, (path, is_package) in modules.items():
        for target, line in imported_names(name, path, is_package, set(modules)):
            if target not in modules or target == name:
                continue  # another package, or a package naming its own attribute
            parts = target.split(".")
            # the packages Python runs before the target, less those already running around `name`
            ancestors = {".".join(parts[:i]) for i in range(1, len(parts))}
            running = {name} | {p for p in ancestors if name.startswith(p + ".")}
            for runs in ({target} | ancestors) - running:
                if runs in modules:
                    graph[name].setdefault(runs, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    members = set(component)
    edges = [
        f"{source} -> {target} (line {line})"
        for source in component
        for target, line in sorted(graph[source].items())
        if target in members
    ]
    return "; ".join(edges)


def test_the_package_has_no_import_cycle():
    graph = import_graph(PACKAGE_DIR)
    found = cycles(graph)
    assert not found, "import cycles: " + " | ".join(describe(graph, c) for c in found)


def test_the_graph_holds_the_imports_it_should():
    """The reader of the graph sees the package's real imports: no cycle because no edge would pass."""
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) >= 25, sorted(graph)
    assert "bottleneck_pipeline.failures" in graph["bottleneck_pipeline.storage"]
    assert "bottleneck_pipeline.storage" not in graph["bottleneck_pipeline.failures"]
    ingest = graph["bottleneck_pipeline.stages.ingest"]
    # the contract checks live with the checks: the stage imports them, the checks never the stage
    assert {"bottleneck_pipeline.checks.ingest", "bottleneck_pipeline.checks"} <= set(ingest)
    assert not any(t.startswith("bottleneck_pipeline.stages") for t in graph["bottleneck_pipeline.checks"])
    assert "bottleneck_pipeline.pipeline" in graph["bottleneck_pipeline.runner"]
    assert "bottleneck_pipeline.pipeline" in graph["bottleneck_pipeline.cli"]


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return package


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    # failures.py imports storage inside a function, storage.py imports failures at the top:
    # the shape the review found.
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "failures.py": "def sort():\n    from .storage import is_infra\n    return is_infra\n",
            "storage.py": "from .failures import sort\n\ndef is_infra():\n    return True\n",
            "cli.py": "from . import storage\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.failures"] == {"pkg.storage": 2}
    assert graph["pkg.cli"] == {"pkg.storage": 1}  # the package itself is not an edge: already running
    assert cycles(graph) == [["pkg.failures", "pkg.storage"]]


def test_a_cycle_through_a_package_init_is_found(tmp_path):
    # stages/ingest.py imports checks.model, which runs checks/__init__.py first; that __init__
    # imports stages.ingest in a function: a cycle although checks.model imports nothing.
    package = write_package(
        tmp_path,
        {
            "__init__.py": "",
            "stages/__init__.py": "",
            "stages/ingest.py": "from ..checks.model import ERROR\n",
            "checks/__init__.py": "from .model import ERROR\n\ndef catalogue():\n    from ..stages.ingest import X\n",
            "checks/model.py": "ERROR = 'error'\n",
            "checks/clean.py": "from .model import ERROR\n",  # a sibling: the package is already running
        },
    )
    graph = import_graph(package)
    assert graph["pkg.stages.ingest"] == {"pkg.checks.model": 1, "pkg.checks": 1}
    assert graph["pkg.checks.clean"] == {"pkg.checks.model": 1}
    assert cycles(graph) == [["pkg.checks", "pkg.stages.ingest"]]


def test_a_package_that_imports_its_modules_is_no_cycle(tmp_path):
    # checks/__init__.py imports its gate modules, which take their helpers from a sibling module:
    # acyclic. Taken from the package itself ('from . import CheckContext') it would be a cycle.
    files = {
        "__init__.py": "",
        "checks/__init__.py": "from .context import CheckContext\nfrom . import clean\n",
        "checks/context.py": "class CheckContext:\n    pass\n",
        "checks/clean.py": "from .context import CheckContext\n",
    }
    assert cycles(import_graph(write_package(tmp_path / "ok", files))) == []
    files["checks/clean.py"] = "from . import CheckContext\n"
    assert cycles(import_graph(write_package(tmp_path / "cycle", files))) == [["pkg.checks", "pkg.checks.clean"]]
