"""Compressed sensing with latent, density and diffusion priors against sparsity (issue 12, "Must show").

Fashion-MNIST (28², held-out test images — the first ``--images`` of the test split; the last two
tune the TV / wavelet weights): Gaussian CS y = A x + n, A_ij ~ N(0, 1/m), m ∈ {25, 50, 100, 200, 400}
of 784, σ_y = 0.01; also ``inpaint_box`` (a central 35 % box missing) and ``sr4`` (4× average
pooling), σ_y = 0.01. Methods: TV and wavelet (ℓ1 on a shift-invariant 2-level frame: 28 = 4·7), λ picked per task on
the two validation images from λ = c σ_y, c ∈ {0.003, 0.01, …, 10, 30}; ``csgm`` with the GAN and the VAE
(Gaussian-latent MAP, z_weight 1; Adam; R restarts; the VAE's first restart from its encoder);
``flow_map`` in x (image MAP with the log-det) and z (Asim et al. 2020: γ = 0 from z = 0), L-BFGS;
``ebm_map`` (accelerated gradient with restarts, from the smooth inverse); and the diffusion method
that was best for the task on Fashion in benchmarks/diffusion/diffusion.json (CS: MCG, ζ = 1;
inpainting and SR: ΠGDM), the posterior mean of ``--diffusion-samples`` samples.
Phantoms (64², 4 held-out phantoms, generator seed 10000): CT (16 angles, σ_y = 0.1) and MRI (4×
Cartesian, σ_y = 0.01) — the diffusion benchmark's tasks — with TV, ``csgm`` on gan-phantom64 and
diffusion-phantom64's best method there (CT: ΠGDM, MRI: MCG).

Rows are merged into ``--out`` by (task, method) (and from ``--merge`` files: parallel runs write
separate files). With ``--reuse`` a row is kept when its options,
images and checkpoint (sha256 of model.safetensors) are unchanged, so a final run on new checkpoints
recomputes only the rows whose prior changed.

    python benchmarks/latent/latent_cs.py                      # shipped priors; writes latent_cs.json + PNG
    python benchmarks/latent/latent_cs.py --gan /work/runs/gan-fashion28 --images 4 --tasks cs50
"""
import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report

HERE = Path(__file__).resolve().parent
SIGMA = 0.01
MS = (25, 50, 100, 200, 400)
LAM_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
PHANTOM_TASKS = {"ct": ({"n_angles": 16}, 0.1), "mri": ({"acceleration": 4, "center_fraction": 0.08}, 0.01)}
BEST_DIFFUSION = {"cs": ("mcg", {"zeta": 1.0}), "inpaint_box": ("pigdm", {}), "sr4": ("pigdm", {}),
                  "ct": ("pigdm", {}), "mri": ("mcg", {"zeta": 1.0})}


def fashion_tasks():
    t = {f"cs{m}": ("cs", {"ratio": m / 784}) for m in MS}
    t["inpaint_box"] = ("inpaint_box", {})
    t["sr4"] = ("sr4", {})
    return t


def sha256(folder) -> str | None:
    f = Path(folder) / "model.safetensors"
    return hashlib.sha256(f.read_bytes()).hexdigest()[:16] if f.exists() else None


def resolve(spec):
    """A shipped name or a checkpoint folder -> (label, folder)."""
    p = Path(spec)
    if p.is_dir():
        return p.name, p
    from genprior.priors.registry import CHECKPOINT_DIR
    return spec, CHECKPOINT_DIR / spec


def latent_methods(args):
    R = args.restarts
    adam = dict(optimizer="adam", lr=0.05, lr_decay=0.1, max_iter=args.latent_iters, restarts=R)
    return {
        "csgm-gan": ("csgm", "gan", adam),
        "csgm-vae": ("csgm", "vae", {**adam, "init": "encode"}),
        "flow_map-x": ("flow_map", "flow", dict(space="x", max_iter=args.flow_iters)),
        "flow_map-z": ("flow_map", "flow", dict(space="z", gamma=0.0, max_iter=args.flow_iters)),
        "ebm_map": ("ebm_map", "ebm", dict(max_iter=args.ebm_iters)),
    }


def run(problem, y, x, method, prior, opts, seed=0):
    t = time.perf_counter()
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(seed), **opts)
    dt = time.perf_counter() - t
    xm = r.x.clamp(0, 1)
    p = gp.metrics.psnr(xm, x)
    return {"psnr": round(float(p.mean()), 3), "ssim": round(float(gp.metrics.ssim(xm, x).mean()), 4),
            "psnr_per_image": [round(float(v), 2) for v in p], "seconds_per_image": round(dt / x.shape[0], 3),
            "nfe": r.nfe}


def tune_lam(problem, y_val, x_val, method, sigma, extra):
    scores = {}
    for c in LAM_GRID:
        lam = c * sigma
        r = gp.solve(problem, y_val, method=method, lam=lam, **extra)
        scores[lam] = float(gp.metrics.psnr(r.x.clamp(0, 1), x_val).mean())
    best = max(scores, key=scores.get)
    return best, {f"{k:g}": round(v, 3) for k, v in scores.items()}


def shape_summary(rows):
    """The literature's claims, checked on the CS rows: mean PSNR per method and m."""
    table = {}
    for r in rows:
        if r["task"].startswith("cs"):
            table.setdefault(r["method"], {})[int(r["task"][2:])] = r["psnr"]
    out = {"psnr_by_method_and_m": table}

    def best(methods, m):
        vals = [(table[k][m], k) for k in methods if k in table and m in table[k]]
        return max(vals) if vals else (None, None)

    sparse, gens = ("tv", "wavelet"), ("csgm-gan", "csgm-vae")
    claims = {}
    for m in MS:
        (ps, ks), (pg, kg) = best(sparse, m), best(gens, m)
        if ps is not None and pg is not None:
            claims[f"m={m}: best latent generator - best sparsity (dB)"] = {"value": round(pg - ps, 2),
                                                                           "generator": kg, "sparsity": ks}
    for k in gens + sparse + ("flow_map-x", "flow_map-z", "ebm_map"):
        if k in table and 200 in table[k] and 400 in table[k] and 25 in table[k]:
            claims[f"{k}: gain m=200 -> 400 (dB)"] = round(table[k][400] - table[k][200], 2)
            claims[f"{k}: gain m=25 -> 400 (dB)"] = round(table[k][400] - table[k][25], 2)
    out["claims"] = claims
    return out


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    table = shape_summary(rows)["psnr_by_method_and_m"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    style = {"tv": "k--", "wavelet": "k:", "csgm-gan": "C0-o", "csgm-vae": "C1-o", "flow_map-x": "C2-s",
             "flow_map-z": "C2--s", "ebm_map": "C3-^"}
    for k, d in table.items():
        ms = sorted(d)
        ax.plot(ms, [d[m] for m in ms], style.get(k, "C4-d"), label=k)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(MS)
    ax.set_xticklabels([str(m) for m in MS])
    ax.set_xlabel("measurements m (of 784)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title("Gaussian CS on Fashion-MNIST test images, σ_y = 0.01")
    ax.grid(alpha=0.3)
    if table:
        ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gan", default="gan-fashion28")
    ap.add_argument("--vae", default="vae-fashion28")
    ap.add_argument("--flow", default="flow-fashion28")
    ap.add_argument("--ebm", default="ebm-fashion28")
    ap.add_argument("--diffusion", default="diffusion-fashion28")
    ap.add_argument("--gan-phantom", default="gan-phantom64")
    ap.add_argument("--diffusion-phantom", default="diffusion-phantom64")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--phantoms", type=int, default=4)
    ap.add_argument("--tasks", default=None, help="comma list of cs25..cs400, inpaint_box, sr4, ct, mri")
    ap.add_argument("--methods", default=None, help="comma list of tv, wavelet, csgm-gan, csgm-vae, flow_map-x, "
                                                    "flow_map-z, ebm_map, diffusion")
    ap.add_argument("--restarts", type=int, default=4)
    ap.add_argument("--latent-iters", type=int, default=300)
    ap.add_argument("--flow-iters", type=int, default=100)
    ap.add_argument("--ebm-iters", type=int, default=200)
    ap.add_argument("--diffusion-samples", type=int, default=4)
    ap.add_argument("--reuse", action="store_true", help="keep rows whose options and checkpoint are unchanged")
    ap.add_argument("--out", default=str(HERE / "latent_cs.json"))
    ap.add_argument("--merge", default="", help="comma list of other outputs of this script whose rows are merged "
                                                "in (runs in parallel processes write separate files)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    command = " ".join(["python", sys.argv[0]] + sys.argv[1:])
    want_tasks = set(args.tasks.split(",")) if args.tasks else None
    want_methods = set(args.methods.split(",")) if args.methods else None
    out = Path(args.out)
    old = json.loads(out.read_text())["results"]["rows"] if out.exists() else []
    for f in filter(None, args.merge.split(",")):
        old = old + json.loads(Path(f).read_text())["results"]["rows"]
    rows = {(r["task"], r["method"]): r for r in old}
    priors, shas = {}, {}
    specs = {"gan": args.gan, "vae": args.vae, "flow": args.flow, "ebm": args.ebm, "diffusion": args.diffusion,
             "gan-phantom": args.gan_phantom, "diffusion-phantom": args.diffusion_phantom}

    def prior(key):
        if key not in priors:
            label, folder = resolve(specs[key])
            priors[key] = (label, gp.priors.load(str(folder)))
            shas[key] = sha256(folder)
        return priors[key]

    def save():
        order = list(fashion_tasks()) + list(PHANTOM_TASKS)
        rs = sorted(rows.values(), key=lambda r: (order.index(r["task"]) if r["task"] in order else 99, r["method"]))
        save_report(out, {"rows": rs, "shape": shape_summary(rs), "sigma_y": SIGMA, "ms": list(MS)},
                    command=command, notes=__doc__.split("\n\n")[1].replace("\n", " ") +
                    " PSNR/SSIM of the clamped reconstruction, mean over the images; seconds per image, 1 thread, on a "
                    "shared 2-core machine whose load varied between the merged runs (about 14 for the GAN / VAE / flow / "
                    "diffusion rows, about 2 for the ebm_map, phantom csgm and TV / wavelet rows): compare seconds "
                    "within one run only. Checkpoint folders /tmp/final/<name> in the row commands are copies of the "
                    "final /work/runs/<name> checkpoints (the shipped <name>; sha256 in each row). "
                    "Rows merged by (task, method), each with its own command.")
        plot(rs, out.with_name(out.stem + "_psnr_vs_m.png"))

    def do(task_label, problem, y, x, method_label, method, prior_key, opts, extra=None):
        if want_methods is not None and method_label not in want_methods and not (
                method_label.startswith("diffusion") and "diffusion" in want_methods):
            return
        ckpt = None
        if prior_key is not None:
            try:
                name, p = prior(prior_key)
            except (FileNotFoundError, KeyError, ValueError) as e:
                print(f"  {task_label} {method_label}: prior {specs[prior_key]} unavailable ({e}); skipped")
                return
            ckpt = {"name": name, "sha256": shas[prior_key]}
        else:
            p = None
        key = (task_label, method_label)
        sig = {"options": {k: v for k, v in opts.items()}, "images": x.shape[0], "checkpoint": ckpt}
        if args.reuse and key in rows and all(rows[key].get(k) == v for k, v in sig.items()):
            print(f"  {task_label} {method_label}: reused", flush=True)
            return
        res = run(problem, y, x, method, p, opts)
        rows[key] = {"task": task_label, "method": method_label, "solver": method, **sig, **res, **(extra or {}),
                     "command": command}
        print(f"  {task_label:12s} {method_label:16s} PSNR {res['psnr']:6.2f}  SSIM {res['ssim']:.3f}  "
              f"{res['seconds_per_image']:.2f} s/img", flush=True)
        save()

    data = gp.data.fashion_mnist("test")
    x, x_val = data[:args.images], data[-2:]
    for label, (task, topts) in fashion_tasks().items():
        if want_tasks is not None and label not in want_tasks:
            continue
        print(label, flush=True)
        pb = gp.tasks.make(task, (1, 28, 28), sigma_y=SIGMA, **topts)
        if task == "cs":
            m = int(round(topts["ratio"] * 784))
            assert pb.operator.y_shape == (m,), pb.operator.y_shape       # the ratio gives m exactly
        g = torch.Generator().manual_seed(1)
        y, y_val = pb.measure(x, generator=g), pb.measure(x_val, generator=g)
        for method, extra in (("tv", {}), ("wavelet", {"levels": 2})):      # 28 = 4·7: a 2-level DWT
            if want_methods is None or method in want_methods:
                lam, scores = tune_lam(pb, y_val, x_val, method, SIGMA, extra)
                do(label, pb, y, x, method, method, None, {"lam": lam, **extra}, {"validation_psnr": scores})
        for mlabel, (method, pkey, opts) in latent_methods(args).items():
            do(label, pb, y, x, mlabel, method, pkey, opts)
        dm, dopts = BEST_DIFFUSION[task]
        do(label, pb, y, x, f"diffusion-{dm}", dm, "diffusion", {**dopts, "num_samples": args.diffusion_samples})

    ph = gp.data.phantoms(args.phantoms, 64, generator=torch.Generator().manual_seed(10_000))
    ph_val = gp.data.phantoms(2, 64, generator=torch.Generator().manual_seed(20_000))
    for task, (topts, sigma) in PHANTOM_TASKS.items():
        if want_tasks is not None and task not in want_tasks:
            continue
        print(task, flush=True)
        pb = gp.tasks.make(task, (1, 64, 64), sigma_y=sigma, **topts)
        g = torch.Generator().manual_seed(1)
        y, y_val = pb.measure(ph, generator=g), pb.measure(ph_val, generator=g)
        if want_methods is None or "tv" in want_methods:
            lam, scores = tune_lam(pb, y_val, ph_val, "tv", sigma, {})
            do(task, pb, y, ph, "tv", "tv", None, {"lam": lam}, {"validation_psnr": scores})
        do(task, pb, y, ph, "csgm-gan", "csgm", "gan-phantom",
           dict(optimizer="adam", lr=0.05, lr_decay=0.1, max_iter=args.latent_iters, restarts=args.restarts))
        dm, dopts = BEST_DIFFUSION[task]
        do(task, pb, y, ph, f"diffusion-{dm}", dm, "diffusion-phantom", {**dopts, "num_samples": args.diffusion_samples})
    save()


if __name__ == "__main__":
    main()
