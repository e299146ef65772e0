"""pkpd benchmarks: ``python -m benchmarks [--quick] [--out results.json] [--md FILE]``.

Prints the markdown report to stdout (progress to stderr), writes it to
``benchmarks/results.md`` (``results-quick.md`` with ``--quick``) and, with
``--out``, every number as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, finishes in under a minute")
    ap.add_argument("--out", metavar="FILE", help="write every number as JSON to FILE")
    ap.add_argument("--md", metavar="FILE", default=None,
                    help="markdown report to write (default benchmarks/results.md, with --quick "
                         "benchmarks/results-quick.md; '-' for none)")
    args = ap.parse_args(argv)

    from benchmarks.report import render
    from benchmarks.suite import Config, run

    cfg = Config.quick_config() if args.quick else Config()
    res = run(cfg, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    md = render(res)
    print(md)
    md_path = args.md or str(HERE / ("results-quick.md" if args.quick else "results.md"))
    if md_path != "-":
        Path(md_path).write_text(md)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
