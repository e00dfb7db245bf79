"""Benchmarks for espf: run with ``.venv/bin/python -m bench`` (see ``--help``).

Every figure is measured against a baseline in the same run, because the
machines we have are small, shared and noisy: the ratio travels, the
absolute number does not. Results go to docs/performance.md and docs/img/.
"""
