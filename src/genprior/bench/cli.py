"""Argument wiring for ``genprior bench`` and ``genprior report`` (called from ``genprior.cli``)."""
from __future__ import annotations

import json
import sys


def cmd_bench(args) -> int:
    from . import runner, suite
    if args.list:
        print("built-in suites: " + ", ".join(suite.builtin_names()))
        return 0
    if args.suite is None or args.out is None:
        raise SystemExit("genprior bench: need SUITE and --out DIR (or --list)")
    s = suite.load(args.suite)
    if args.dry_run:
        cells = runner.plan(s)
        done = {r["key"] for r in runner.load_results(args.out)}
        print(json.dumps({"suite": s.name, "cells": len(cells), "done": sum(c.key in done for c in cells)}))
        return 0
    summary = runner.run(s, args.out, workers=args.workers, threads=args.threads, max_cells=args.max_cells,
                         progress=not args.no_progress, retry_errors=args.retry_errors, device=args.device)
    if summary["rank"] == 0:
        print(json.dumps(summary))
        if args.report and summary.get("left") == 0:
            from .report import write
            print(f"wrote {write(args.out)}")
    return 0


def cmd_report(args) -> int:
    from .report import write
    print(f"wrote {write(args.dir, args.out)}")
    return 0


def add_bench_parser(subparsers):
    b = subparsers.add_parser("bench", help="run a benchmark suite (resumable; --workers N; torchrun shards by rank)")
    b.add_argument("suite", nargs="?", help="a built-in suite name (see --list) or a suite .toml file")
    b.add_argument("--out", help="results folder (results.jsonl, recon/, meta.json); rerun to resume")
    b.add_argument("--workers", type=int, default=1, help="processes on this machine (each with --threads threads)")
    b.add_argument("--threads", type=int, default=1, help="torch threads per process")
    b.add_argument("--max-cells", type=int, default=None, help="stop after this many cells (resume later)")
    b.add_argument("--retry-errors", action="store_true", help="rerun cells whose row recorded an error")
    b.add_argument("--device", default="auto", help="auto (CUDA when available, one GPU per rank), cpu or cuda")
    b.add_argument("--report", action="store_true", help="write OUT/report.html when every cell is done")
    b.add_argument("--dry-run", action="store_true", help="print the number of cells (and how many are done)")
    b.add_argument("--list", action="store_true", help="list the built-in suites")
    b.add_argument("--no-progress", action="store_true")
    b.set_defaults(func=cmd_bench)
    return b


def add_report_parser(subparsers):
    r = subparsers.add_parser("report", help="one self-contained HTML report from a `genprior bench` folder")
    r.add_argument("dir", help="the folder given to `genprior bench --out`")
    r.add_argument("--out", default=None, help="HTML file (default DIR/report.html)")
    r.set_defaults(func=cmd_report)
    return r


def main(argv=None) -> int:
    """``python -m genprior.bench.cli bench ...`` (the same as ``genprior bench ...``)."""
    import argparse
    p = argparse.ArgumentParser(prog="genprior")
    sub = p.add_subparsers(dest="command", required=True)
    add_bench_parser(sub)
    add_report_parser(sub)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
