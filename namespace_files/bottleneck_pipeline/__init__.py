"""BottleNeck monthly revenue pipeline.

One module per stage (``stages/``), the quality gates of each stage (``checks/``), the input
contracts (``contracts.py``), DuckDB SQL files for the set-based work (``sql/``), the table of
stages that the local runner and the command line both follow (``pipeline.py``) and a command
line (``cli.py``) that Kestra ``python.Commands`` tasks call with these namespace files in their
working directory. The import name is not ``bottleneck``: pandas imports a NumPy accelerator of
that name.
"""

__version__ = "1.0.0"
