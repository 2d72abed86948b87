#!/bin/bash
# restarted by the lead at 07:40 (the first lanes died with the helper that started them at 07:10); resumes from train_state.pt
export OMP_NUM_THREADS=1 PYTHONPATH=/work/runs/_code/ea37646/src
PY=/work/main/.venv/bin/python
job() { name=$1; cap=$2; shift 2; echo "$(date -u +%FT%TZ) start $name"; timeout $cap $PY -m genprior.cli train "$@" --out /work/runs/$name --name $name --save-every 250 --sample-every 1000 --threads 1 --no-progress >> /work/runs/$name.log 2>&1; echo "$(date -u +%FT%TZ) end $name rc=$?"; }
job gan-fashion28 1200 gan --data fashion28 --width 32 --latent-dim 64 --batch-size 64 --lr 2e-4 --seed 0 --steps 10000
job vae-fashion28 1000 vae --data fashion28 --width 32 --latent-dim 32 --batch-size 64 --lr 1e-3 --seed 0 --steps 6000
job gan-phantom64 1800 gan --data phantoms64 --width 16 --latent-dim 64 --batch-size 32 --lr 2e-4 --seed 0 --steps 10000
