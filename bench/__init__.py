"""PackBench benchmarks (docs/architecture.md §12): one command each, `python -m bench.NAME` from the repo root.

See bench/README.md for what each measures, its budget and the figures measured on the dev machine.
"""
