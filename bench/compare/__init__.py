"""bench/compare: the project against PostGraphile 5 on the same database (`make bench-compare`).

See __main__.py (the steps) and docs/benchmarks.md (how to run it, what each figure means).
"""
