"""Collect the per-run diffusion benchmark files (benchmarks/diffusion/runs/diffusion_<prior>*.json,
written by diffusion.py) into one table, benchmarks/diffusion/diffusion.json, and print it as markdown.

    python benchmarks/diffusion/diffusion_table.py
"""
import glob
import json

from genprior.bench import save_report

METHODS = ["mle", "tv", "dps", "mcg", "score_sde", "pigdm", "dds", "diffpir", "ddrm", "daps", "reddiff"]


def main():
    rows, sources, compare = [], [], []
    for f in sorted(glob.glob("benchmarks/diffusion/runs/diffusion_*.json")):
        d = json.load(open(f))
        sources.append({"file": f, "command": d["command"]})
        rows += [r for r in d["results"]["rows"] if "psnr" in r or "skipped" in r or "diverged" in r]
        compare += [{**c, "file": f} for c in d["results"].get("dds_vs_dps", [])]
    table, best = {}, {}
    for r in rows:           # files in name order: a later rerun (e.g. *_deblur_ddrm_rerun.json) replaces a row
        table.setdefault((r["prior"], r["task"]), {})[r["method"]] = r
    rows = [r for by in table.values() for r in by.values()]
    print("| prior | task | " + " | ".join(METHODS) + " |")
    print("|---|---|" + "---|" * len(METHODS))
    for (prior, task), by in table.items():
        cells = []
        for m in METHODS:
            r = by.get(m)
            cells.append("" if r is None else ("n/a" if "skipped" in r else ("div." if "diverged" in r else f"{r['psnr']:.2f}")))
        print(f"| {prior.replace('diffusion-', '')} | {task} | " + " | ".join(cells) + " |")
        diff = [r for m, r in by.items() if m not in ("mle", "tv") and "psnr" in r]
        if diff and "tv" in by:
            b = max(diff, key=lambda r: r["psnr"])
            best[f"{prior}/{task}"] = {"best_diffusion": b["method"], "psnr": b["psnr"], "tv_psnr": by["tv"]["psnr"],
                                      "gain_over_tv_db": round(b["psnr"] - by["tv"]["psnr"], 3)}
    print(json.dumps(best, indent=1))
    save_report("benchmarks/diffusion/diffusion.json",
                {"best_vs_tv": best, "dds_vs_dps": compare, "rows": rows, "sources": sources},
                notes="merged from the per-run files listed in sources (each with its own command); PSNR of the "
                      "posterior mean of 4 samples on 4 held-out images per task, options tuned on 2 validation images")


if __name__ == "__main__":
    main()
