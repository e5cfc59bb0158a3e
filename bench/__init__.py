"""Benchmarks of the ICP industry search product (not tests; run with ``make bench``).

``bench.harness`` holds the shared harness (databases, data, servers, timing),
``bench.report`` the report writer (BENCHMARKS.md), ``bench.gen`` the seeded ACRA data
generator, ``bench.run`` the entry point; every other module is one benchmark, registered
with ``bench.harness.benchmark``.
"""
