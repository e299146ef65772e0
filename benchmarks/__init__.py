"""Benchmarks of pkpd against scipy (and optional peers): ``python -m benchmarks [--quick] [--out FILE]``.

See ``benchmarks/README.md`` for what is compared and how.
"""
