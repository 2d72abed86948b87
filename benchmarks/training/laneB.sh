#!/bin/bash
# lane B (code: wt-trainers commit ea37646, snapshot /work/runs/_code/ea37646): flow-fashion28 -> ebm-fashion28
export OMP_NUM_THREADS=1 PYTHONPATH=/work/runs/_code/ea37646/src
PY=/work/main/.venv/bin/python
job() { name=$1; cap=$2; shift 2; echo "$(date -u +%FT%TZ) start $name"; timeout $cap $PY -m genprior.cli train "$@" --out /work/runs/$name --name $name --save-every 250 --sample-every 1000 --threads 1 --no-progress > /work/runs/$name.log 2>&1; echo "$(date -u +%FT%TZ) end $name rc=$?"; }
job flow-fashion28 4800 flow --data fashion28 --levels 2 --steps-per-level 8 --hidden 96 --batch-size 64 --lr 1e-3 --seed 0 --steps 10000
job ebm-fashion28 3600 ebm --data fashion28 --width 32 --sigma 0.1 --batch-size 64 --lr 5e-4 --seed 0 --steps 7000
