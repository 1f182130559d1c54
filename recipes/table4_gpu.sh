#!/usr/bin/env bash
# The FSR paper's Table 4 at full width on one GPU: the AT and AT + FSR rows
# (recipes/pgd_at_cifar10_resnet18.yaml and recipes/fsr_cifar10_resnet18_pgd_at.yaml,
# scale `gpu`), each into OUT/<recipe>/ as `tfrobust train` writes a zoo entry.
#
#   bash recipes/table4_gpu.sh OUT [EPOCHS [--set KEY=VALUE ...]]
#
# Both rows get the same budget: EPOCHS (default the recipes' 6), the learning
# rate x0.1 after 74% and 89% of them as after the reference's 74 and 89 of
# 100. Fix EPOCHS from a measurement (benchmarks/recipe_throughput.py RECIPES
# --scale gpu). The two train one after the other, since two training
# processes on one GPU ran at 0.7x its throughput, then are evaluated side by
# side, so that a run stopped early has the same attacks done for both (PGD-20
# and AutoAttack come first). Runs on JAX, TensorFlow not needed; data from
# $TFROBUST_DATA_DIR. Any `--set` overrides go to both (a CPU smoke run, say).
set -euo pipefail
out=${1:?usage: bash recipes/table4_gpu.sh OUT [EPOCHS [--set KEY=VALUE ...]]}
epochs=${2:-6}
read -r first second < <(python -c "print(round(0.74 * $epochs, 2), round(0.89 * $epochs, 2))")
budget=(--set "training.epochs=$epochs" --set "training.schedule.boundaries=[$first, $second]")
overrides=("${@:3}")
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_MEM_FRACTION=0.45
recipes=(recipes/pgd_at_cifar10_resnet18.yaml recipes/fsr_cifar10_resnet18_pgd_at.yaml)
mkdir -p "$out"

train() {  # `train RECIPE [--train-only]`, logged to OUT/<recipe>.log
    local name
    name=$(basename "$1" .yaml)
    python -m tfrobust.cli.main train "$1" --scale gpu --out "$out/$name" \
        "${overrides[@]}" "${budget[@]}" "${@:2}" >>"$out/$name.log" 2>&1
}

echo "$epochs epochs, learning rate x0.1 after $first and $second"
for recipe in "${recipes[@]}"; do
    train "$recipe" --train-only
done
pids=()
for recipe in "${recipes[@]}"; do
    train "$recipe" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
