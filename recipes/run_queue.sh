#!/usr/bin/env bash
# The zoo's CPU trainings, one at a time; rerun to resume (each run resumes from its backup).
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2 TFROBUST_DATA_DIR="${TFROBUST_DATA_DIR:-../shared/datasets}"
for recipe in "$@"; do
  name=$(basename "$recipe" .yaml)
  if [ -f "runs/done-$name" ]; then continue; fi
  echo "$(date -Is) start $name" >> runs/queue.log
  if nice -n 5 .venv/bin/tfrobust train "$recipe" --scale cpu --publish >> "runs/$name.log" 2>&1; then
    touch "runs/done-$name"; echo "$(date -Is) done $name" >> runs/queue.log
  else
    echo "$(date -Is) FAILED $name" >> runs/queue.log
  fi
done
