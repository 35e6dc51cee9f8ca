"""The five stages of the analyst's method. Each works on tables, never on paths."""
