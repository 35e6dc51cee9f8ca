"""The five stages of the analyst's method: the data work, without files.

Each stage function takes Arrow tables and returns Arrow tables (with its figures: rows removed
per reason, the price statistics), except ``ingest.ingest_workbook``, which reads the workbook at
the path it is given (reading is its job) and returns the contract checks' results with the table.
All but classify (plain numpy) also take a DuckDB connection from ``storage.connect`` (which
defines the key macros their SQL uses) and work in it: they register their input tables under
fixed names (``ingest_erp``, ``clean_web``, ``merged_products``...), create temp tables, run the
stage's SQL files (``sql/<stage>/``), and unregister or drop what they created before returning.
Paths, Parquet files, manifests and gates are pipeline.py's, which opens one connection per stage.
"""
