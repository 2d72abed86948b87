"""The `gmm` suite's rows (benchmarks/runner/gmm/results.jsonl) against the retired script's
benchmarks/gmm/gmm_posterior.json, per (d_x, d_y, method): mean sliced W2 over the problems both
hold, its ratio to the floor, and the largest per-problem difference.

    python benchmarks/runner/gmm_compare.py      # writes benchmarks/runner/gmm/compare_gmm_posterior.json
"""
import json
import statistics
from pathlib import Path

from genprior.bench import save_report
from genprior.bench.runner import load_results

HERE = Path(__file__).resolve().parent
OLD = HERE.parent / "gmm" / "gmm_posterior.json"


def main():
    old = {(r["d_x"], r["d_y"], r["seed"]): r for r in json.loads(OLD.read_text())["results"]["rows"]}
    cells = {}
    for r in load_results(HERE / "gmm"):
        if "error" in r or (r["d_x"], r["d_y"], r["seed"]) not in old:
            continue
        o = old[(r["d_x"], r["d_y"], r["seed"])]
        cells.setdefault((r["d_x"], r["d_y"], r["method_name"]), []).append(
            (r["sliced_w2"], o[r["method_name"]], r["sliced_w2_floor"], o["floor"]))
    rows = []
    for (d_x, d_y, m), v in sorted(cells.items()):
        new, ref = statistics.fmean(a[0] for a in v), statistics.fmean(a[1] for a in v)
        fn, fo = statistics.fmean(a[2] for a in v), statistics.fmean(a[3] for a in v)
        rows.append({"d_x": d_x, "d_y": d_y, "method": m, "problems": len(v), "runner_w2": round(new, 4),
                     "json_w2": round(ref, 4), "runner_floor": round(fn, 4), "json_floor": round(fo, 4),
                     "runner_w2_over_floor": round(new / fn, 3), "json_w2_over_floor": round(ref / fo, 3),
                     "max_abs_diff": round(max(abs(a[0] - a[1]) for a in v), 4),
                     "max_rel_diff": round(max(abs(a[0] - a[1]) / a[1] for a in v), 4)})
    summary = {"cells_compared": sum(r["problems"] for r in rows),
               "max_abs_diff": max(r["max_abs_diff"] for r in rows),
               "max_rel_diff": max(r["max_rel_diff"] for r in rows),
               "median_abs_diff_of_means": statistics.median(abs(r["runner_w2"] - r["json_w2"]) for r in rows)}
    out = HERE / "gmm" / "compare_gmm_posterior.json"
    save_report(out, {"summary": summary, "rows": rows}, command="python benchmarks/runner/gmm_compare.py",
                notes="the gmm suite's rows against the retired script's gmm_posterior.json (see the docstring)")
    print(json.dumps(summary))
    for r in rows:
        print(f"d_x={r['d_x']:<4} d_y={r['d_y']} {r['method']:<10} runner {r['runner_w2']:7.3f} "
              f"({r['runner_w2_over_floor']:6.2f}x floor)  json {r['json_w2']:7.3f} ({r['json_w2_over_floor']:6.2f}x)  "
              f"max |d| {r['max_abs_diff']:.4f}")


if __name__ == "__main__":
    main()
