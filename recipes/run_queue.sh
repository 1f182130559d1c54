#!/usr/bin/env bash
# The zoo's CPU trainings, one at a time; rerun to resume (each run resumes from its backup).
# Each runs the package as committed at the queue's start (runs/code-<commit>/), not the
# working tree: Python imports modules lazily, so a pull during a run would mix two
# versions of the code in one result.
set -o pipefail
cd "$(dirname "$0")/.."
commit=$(git rev-parse --short HEAD) || exit 1
code="runs/code-$commit"
if [ ! -d "$code" ]; then
  rm -rf "$code.tmp" && mkdir -p "$code.tmp" && git archive HEAD tfrobust | tar -x -C "$code.tmp" \
    && mv "$code.tmp" "$code" || exit 1
fi
export PYTHONPATH="$PWD/$code" TFROBUST_MODELS_DIR="$PWD/models" TF_CPP_MIN_LOG_LEVEL=2 \
  TFROBUST_DATA_DIR="${TFROBUST_DATA_DIR:-../shared/datasets}"
for recipe in "$@"; do
  name=$(basename "$recipe" .yaml)
  if [ -f "runs/done-$name" ]; then continue; fi
  echo "$(date -Is) start $name at $commit" >> runs/queue.log
  if nice -n 5 .venv/bin/tfrobust train "$recipe" --scale cpu --publish >> "runs/$name.log" 2>&1; then
    touch "runs/done-$name"; echo "$(date -Is) done $name" >> runs/queue.log
  else
    echo "$(date -Is) FAILED $name" >> runs/queue.log
  fi
done
