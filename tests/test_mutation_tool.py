"""scripts/mutation.py, the mutation-testing tool: the mutants it makes, and how it judges them."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path


from conftest import REPO

spec = importlib.util.spec_from_file_location("mutation", REPO / "scripts" / "mutation.py")
mutation = importlib.util.module_from_spec(spec)
sys.modules["mutation"] = mutation
spec.loader.exec_module(mutation)

TINY = textwrap.dedent(
    '''\
    """A docstring with 2 numbers and a < sign: never mutated."""


    def share(part, whole):
        if whole <= 0 and not part:  # a comment with > is kept as written
            return 0.0
        raise_if(part > whole, f"part {part} over {whole + 1}")
        return part / whole
    '''
)


def test_python_mutants_are_exactly_the_expected_ones():
    mutants = mutation.python_mutants("tiny.py", TINY, skip_calls=["raise_if"])
    lines = TINY.splitlines()
    changed = {(m.line, m.description.split(" in `")[0]): m.source.splitlines()[m.line - 1] for m in mutants}
    comment = "  # a comment with > is kept as written"
    assert changed == {
        (5, "`<=` -> `<`"): "    if (whole < 0) and not part:" + comment,
        (5, "`0` -> `1`"): "    if whole <= (1) and not part:" + comment,
        (5, "`and` -> `or`"): "    if (whole <= 0 or not part):" + comment,
        (5, "`not ` dropped"): "    if whole <= 0 and (part):" + comment,
        (6, "return value -> `None`"): "        return (None)",
        (6, "`0.0` -> `1`"): "        return (1)",
        (8, "return value -> `None`"): "    return (None)",
        (8, "`/` -> `*`"): "    return (part * whole)",
    }
    # each is named with its line as written: the key an equivalent mutant is listed by
    assert (
        mutants[0].key
        == "tiny.py: `and` -> `or` in `if whole <= 0 and not part: # a comment with > is kept as written`"
    )
    for mutant in mutants:  # one change each: every other line as written
        others = [n for n, line in enumerate(mutant.source.splitlines(), 1) if line != lines[n - 1]]
        assert others == [mutant.line]


def test_skipped_functions_give_no_mutant():
    assert mutation.python_mutants("tiny.py", TINY, skip_calls=["raise_if"], skip_functions=["share"]) == []


def test_sql_mutants_skip_comments_and_quoted_text():
    sql = "-- a > b and 1\nselect sum(x) from t where kind = 'a > 1' and n >= 2 order by x desc\n"
    mutated = sorted(m.source.splitlines()[1] for m in mutation.sql_mutants("t.sql", sql))
    assert mutated == sorted(
        [
            "select max(x) from t where kind = 'a > 1' and n >= 2 order by x desc",
            "select sum(x) from t where kind = 'a > 1' or n >= 2 order by x desc",
            "select sum(x) from t where kind = 'a > 1' and n >= 2 order by x asc",
            "select sum(x) from t where kind = 'a > 1' and n > 2 order by x desc",
            "select sum(x) from t where kind <> 'a > 1' and n >= 2 order by x desc",
            "select sum(x) from t where kind = 'a > 1' and n >= 3 order by x desc",
        ]
    )
    assert all(m.line == 2 for m in mutation.sql_mutants("t.sql", sql))


def test_sql_in_a_python_string_is_mutated_as_sql_and_a_message_not_at_all():
    source = 'QUERY = "select id from t where n is null"\nMESSAGE = f"{n} ligne(s) où n < 0"\n'
    mutants = mutation.python_mutants("q.py", source)
    assert [m.source.splitlines()[0] for m in mutants] == ["QUERY = ('select id from t where n is not null')"]


def test_a_killed_and_a_surviving_mutant_are_told_apart(tmp_path: Path, monkeypatch):
    """A toy checkout: one module, one test that pins its boundary and not its other branch."""
    (tmp_path / "toy.py").write_text("def premium(z):\n    if z > 2:\n        return True\n    return z > 9\n")
    (tmp_path / "test_toy.py").write_text(
        "from toy import premium\n\ndef test_boundary():\n    assert premium(2.5) and not premium(2)\n"
    )
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    config = {"copy_exclude": ["__pycache__"], "preimport": [], "targets": []}
    worker = mutation.Worker(config, 0)
    try:
        text = (tmp_path / "toy.py").read_text()
        mutants = {m.description: m for m in mutation.python_mutants("toy.py", text)}
        boundary, unpinned = mutants["`>` -> `>=` in `if z > 2:`"], mutants["`9` -> `10` in `return z > 9`"]
        for mutant in (boundary, unpinned):
            mutation.judge(worker, mutant, [["test_toy.py"]], [60])
        assert (boundary.status, unpinned.status) == (mutation.KILLED, mutation.SURVIVED)
        assert (worker.repo / "toy.py").read_text() == text  # every mutant is undone
    finally:
        worker.close()
    table = mutation.scores([boundary, unpinned])
    assert table["toy.py"] == {"killed": 1, "timeout": 0, "survived": 1, "equivalent": 0, "score": 0.5}
