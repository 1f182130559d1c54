#!/usr/bin/env bash
# The FSR paper's Table 4 at full width on one GPU: the AT and AT + FSR rows
# (recipes/pgd_at_cifar10_resnet18.yaml and recipes/fsr_cifar10_resnet18_pgd_at.yaml,
# scale `gpu`), trained side by side on the same GPU with the same budget, then
# evaluated, each into OUT/<entry name>/ as `tfrobust train` writes a zoo entry.
#
#   bash recipes/table4_gpu.sh OUT [TRAIN_SECONDS [--set KEY=VALUE ...]]
#
# The budget is measured, not guessed: both recipes' training throughput first
# (benchmarks/recipe_throughput.py, whose compiled step the runs reuse through
# JAX's compilation cache), then the most epochs of both that fit TRAIN_SECONDS
# (default 270) if the GPU ran the two one after the other, the learning rate
# x0.1 after 74% and 89% of them as the reference's 74 and 89 of 100. The
# epochs and the measurements are written to OUT/budget.json for the cards.
# Any `--set` overrides go to both recipes (a small smoke run on a CPU, say).
# Runs on JAX (TensorFlow not needed); data from $TFROBUST_DATA_DIR.
set -euo pipefail
out=${1:?usage: bash recipes/table4_gpu.sh OUT [TRAIN_SECONDS]}
budget=${2:-270}
overrides=("${@:3}")
mkdir -p "$out"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_MEM_FRACTION=0.45
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$out/jax-cache}
recipes=(recipes/pgd_at_cifar10_resnet18.yaml recipes/fsr_cifar10_resnet18_pgd_at.yaml)

# Both at once, each waited for, so a failed one stops the script.
side_by_side() {
    local pids=() pid status=0
    for recipe in "${recipes[@]}"; do
        "$@" "$recipe" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    return $status
}

measure() {
    python benchmarks/recipe_throughput.py "$1" --scale gpu --steps 20 "${overrides[@]}" \
        >"$out/throughput-$(basename "$1" .yaml).txt"
}
JAX_PLATFORMS=cpu python -c "from tfrobust import data; [data.load_uint8('cifar10', s) for s in ('train', 'test')]" &
decoding=$!  # the JPEGs, once, into the data cache the runs read
side_by_side measure
wait "$decoding"

read -r epochs first second < <(python - "$budget" "$out" "${recipes[@]}" -- "${overrides[@]}" <<'EOF'
import json, math, pathlib, sys

from tfrobust.recipes import build
from tfrobust.recipes.load import load_recipe

budget, out = float(sys.argv[1]), pathlib.Path(sys.argv[2])
split = sys.argv.index("--")
paths, overrides = sys.argv[3:split], [a for a in sys.argv[split + 1 :] if a != "--set"]
rows = []
for path in paths:
    text = (out / f"throughput-{pathlib.Path(path).stem}.txt").read_text()
    rows.append(json.loads(text.splitlines()[0]))
recipe = load_recipe(paths[0], "gpu", overrides)
images = build.steps_per_epoch(recipe) * recipe.training.batch_size
epoch_seconds = sum(images / row["images_per_s"] for row in rows)
epochs = max(1, math.floor(budget / epoch_seconds))
first, second = round(0.74 * epochs, 2), round(0.89 * epochs, 2)
record = {
    "train_seconds": budget,
    "epoch_seconds_one_after_the_other": round(epoch_seconds, 1),
    "epochs": epochs,
    "boundaries": [first, second],
    "throughput": rows,
}
(out / "budget.json").write_text(json.dumps(record, indent=1) + "\n")
print(epochs, first, second)
EOF
)
echo "budget: ${epochs:?no budget measured} epochs, learning rate x0.1 after $first and $second"

train() {
    local name
    name=$(basename "$1" .yaml)
    python -m tfrobust.cli.main train "$1" --scale gpu --out "$out/$name" \
        "${overrides[@]}" --set "training.epochs=$epochs" \
        --set "training.schedule.boundaries=[$first, $second]" >"$out/$name.log" 2>&1
}
side_by_side train
