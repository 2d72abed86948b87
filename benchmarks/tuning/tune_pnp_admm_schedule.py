"""PnP-ADMM's denoiser schedule per operator kind (issue 10): "fixed" (sigma_d = max(sigma_y, 0.08),
rho = sigma_y² / sigma_d², iterated to tol) against "annealed" (the DPIR schedule on ADMM, 8 levels
from 49/255 to sigma_y / max(||A||, 1), rho_k = 0.23 sigma_y² / sigma_k²), NL-means, on every task of
benchmarks/defaults/defaults.py at 64², VALIDATION images only (brick, chelsea, clock, gravel, page,
coffee; grayscale; the benchmark uses camera, astronaut, moon, coins), one measurement per image
from seed 0. Per kind the choice is the schedule with the smaller worst loss (over the images) to
the other one; it is copied into ADMM_SCHEDULE in src/genprior/solvers/map/pnp.py.

    PYTHONPATH=src python benchmarks/tuning/tune_pnp_admm_schedule.py   # tune_pnp_admm_schedule.json
"""
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import CLASSICAL_TASKS as TASKS, CLASSICAL_VALIDATION_IMAGES
from genprior.solvers.map.common import operator_kind


IMAGES = CLASSICAL_VALIDATION_IMAGES
SCHEDULES = ("fixed", "annealed")


def main():
    torch.set_num_threads(1)
    xs = torch.cat([gp.data.image(n, 64, grayscale=True) for n in IMAGES])
    den = gp.priors.load("nlm")
    rows, choice = [], {}
    for task, (opts, sy) in TASKS.items():
        p = gp.tasks.make(task, (1, 64, 64), sigma_y=sy, **opts)
        y = p.measure(xs, generator=torch.Generator().manual_seed(0))
        psnr = lambda x: [round(float(v), 3) for v in gp.metrics.psnr(x.clamp(0, 1), xs)]  # noqa: E731
        mle = psnr(gp.solve(p, y, "mle").x)
        ps = {s: psnr(gp.solve(p, y, "pnp_admm", prior=den, schedule=s).x) for s in SCHEDULES}
        worst = {s: round(max(max(o - v, 0.0) for o, v in zip(ps[t], ps[s])), 3)
                 for s in SCHEDULES for t in SCHEDULES if t != s}
        kind = operator_kind(p.operator)
        choice[kind] = min(SCHEDULES, key=lambda s: worst[s])
        row = {"task": task, "kind": kind, "sigma_y": sy, "mle": mle, "psnr": ps, "worst_loss_to_other_db": worst,
               "min_gain_over_mle_db": {s: round(min(a - b for a, b in zip(ps[s], mle)), 3) for s in SCHEDULES},
               "choice": choice[kind]}
        rows.append(row)
        print(row, flush=True)
    save_report(Path(__file__).with_suffix(".json"), {"images": IMAGES, "rows": rows, "choice_by_kind": choice},
                notes="PSNR on the clamped result; worst_loss_to_other_db: max over images of (other schedule - this "
                      "one)_+; choice: the smaller worst loss")


if __name__ == "__main__":
    main()
