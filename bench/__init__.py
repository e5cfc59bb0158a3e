"""Benchmarks of the ICP industry search product (not tests; run with ``make bench``).

``bench.common`` holds the shared harness (scratch databases, timing, BENCHMARKS.md
sections), ``bench.gen`` the seeded ACRA data generator, ``bench.run`` the entry point;
every other module registers one benchmark with ``bench.common.register``.
"""
