"""The recipe format: what a paper setting specifies, as typed dataclasses.

One YAML file in `recipes/` per paper setting. `scales` holds named sets of
overrides (dotted keys), for example `cpu`: a smaller width and budget that
finishes on two CPU cores; `tfrobust train RECIPE --scale cpu` applies one.
"""

import dataclasses
import typing

from tfrobust.recipes.validation import RecipeError


@dataclasses.dataclass
class ValidationConfig:
    """Training images held out for validation during training: `n` of them, drawn with
    `seed` (`tfrobust.data.epochs.holdout`). The test split is left to the final evaluation."""

    n: int = 500
    seed: int = 0

    def check(self, path):
        if self.n < 0:
            raise RecipeError(f"{path}.n: must be >= 0. Received: {self.n}")


@dataclasses.dataclass
class DatasetConfig:
    name: str
    augment: bool = False
    n_train: typing.Optional[int] = None  # first n training images left after validation
    validation: ValidationConfig = dataclasses.field(default_factory=ValidationConfig)
    data_dir: typing.Optional[str] = None


@dataclasses.dataclass
class LayerConfig:
    layer: str  # a name in `tfrobust.recipes.registry.LAYERS`
    args: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ModelConfig:
    architecture: str
    width: float = 1.0
    insert: typing.Dict[str, LayerConfig] = dataclasses.field(default_factory=dict)
    guided_dropout: bool = False


@dataclasses.dataclass
class ComponentConfig:
    """An objective or attack: a registered name and its constructor arguments."""

    name: str
    args: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class OptimizerConfig:
    """`sgd` (weight decay = PyTorch's coupled L2, `training.L2SGD`) or `adam` (AdamW)."""

    name: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False

    def check(self, path):
        if self.name not in ("sgd", "adam"):
            raise RecipeError(f"{path}.name: 'sgd' or 'adam'. Received: {self.name!r}")
        if self.learning_rate <= 0:
            raise RecipeError(f"{path}.learning_rate: must be > 0. Received: {self.learning_rate}")


@dataclasses.dataclass
class ScheduleConfig:
    """`constant`, `piecewise` (multiply by `factor` at each epoch in `boundaries`) or `cosine`."""

    name: str = "constant"
    boundaries: typing.List[float] = dataclasses.field(default_factory=list)
    factor: float = 0.1

    def check(self, path):
        if self.name not in ("constant", "piecewise", "cosine"):
            raise RecipeError(
                f"{path}.name: 'constant', 'piecewise' or 'cosine'. Received: {self.name!r}"
            )


DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass
class TrainingConfig:
    epochs: int
    batch_size: int = 128
    steps_per_epoch: typing.Optional[int] = None
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    # Epochs over which the training attack's budget grows linearly to eps
    # (`training.EpsilonWarmup`); 0: the full budget from the start.
    eps_warmup_epochs: int = 0
    seed: int = 0
    # The Keras dtype policy the network trains in: mixed_bfloat16 on GPUs and
    # TPUs; logits, losses and the attack's gradient stay float32 under any.
    dtype_policy: str = "float32"

    def check(self, path):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise RecipeError(f"{path}.{name}: must be >= 1. Received: {getattr(self, name)}")
        if self.dtype_policy not in DTYPE_POLICIES:
            raise RecipeError(
                f"{path}.dtype_policy: one of {', '.join(DTYPE_POLICIES)} (mixed_bfloat16 on "
                f"GPUs and TPUs). Received: {self.dtype_policy!r}"
            )
        if self.eps_warmup_epochs < 0:
            raise RecipeError(
                f"{path}.eps_warmup_epochs: must be >= 0. Received: {self.eps_warmup_epochs}"
            )


@dataclasses.dataclass
class EvaluationConfig:
    """The protocol run after training: clean, PGD and AutoAttack accuracy on `n` test images."""

    eps: float
    norm: str = "linf"
    n: int = 1000
    clean_n: typing.Optional[int] = None  # clean accuracy also on this many test images
    batch_size: int = 250
    attacks: typing.List[str] = dataclasses.field(default_factory=lambda: ["pgd", "autoattack"])
    attack_kwargs: typing.Dict[str, typing.Dict[str, typing.Any]] = dataclasses.field(
        default_factory=dict
    )  # per attack name, e.g. {"pgd": {"steps": 20}}
    curve_eps: typing.List[float] = dataclasses.field(default_factory=list)
    curve_attacks: typing.Optional[typing.List[str]] = None  # run at curve_eps (None: all)
    sanity: bool = True

    def check(self, path):
        if self.norm not in ("linf", "l2"):
            raise RecipeError(f"{path}.norm: 'linf' or 'l2'. Received: {self.norm!r}")
        for i, eps in enumerate([self.eps, *self.curve_eps]):
            where = f"{path}.eps" if i == 0 else f"{path}.curve_eps[{i - 1}]"
            if eps < 0 or (self.norm == "linf" and eps > 1):
                raise RecipeError(
                    f"{where}: an L-inf budget is in the [0, 1] pixel scale "
                    f"(8/255, not 8). Received: {eps}"
                )
        unknown = sorted(set(self.curve_attacks or ()) - set(self.attacks))
        if unknown:
            raise RecipeError(
                f"{path}.curve_attacks: must name attacks of {path}.attacks, "
                f"{self.attacks}. Received: {unknown}"
            )


SALIENCY_SOURCES = ("model", "files", "online")


@dataclasses.dataclass
class SaliencyConfig:
    """Where SAT's saliency maps come from (a `saliency_pgd` training attack).

    `source`:
      - `model`: the maps of a fixed, pretrained classifier, as in the SAT
        paper's CIFAR-100 table (a standard or adversarially trained
        ResNet-10 explained with GBP, SmoothGrad, Guided Grad-CAM++ or
        Integrated Gradients). `model` is a `.keras` file or a zoo ID,
        `method` a name in `tfrobust.saliency.METHODS` (the paper's:
        `guided_backprop`, `smoothgrad`, `guided_grad_cam_plus_plus`,
        `integrated_gradients`), `method_args` its arguments. The maps
        explain each image's true class; they are computed once for the
        training and the validation images and cached
        (`tfrobust.saliency.cache`, under `cache_dir` or
        `$TFROBUST_CACHE_DIR/saliency`, keyed by the model's SHA-256, the
        method, its arguments and the images).
      - `files`: precomputed maps, an `.npy` file `train` holding one map per
        image of the training split in its loading order (the validation
        images are held out of it and take their maps from it), (N, H, W),
        (N, H, W, 1) or image-shaped: the weak saliency of the paper's
        Tiny-ImageNet / Flower-17 table, +1 inside the bounding box or
        segmentation mask, -1 outside (`tfrobust.saliency.boxes_to_saliency`,
        `mask_to_saliency`, ordered with `in_split_order`).
      - `online`: no maps in the data; the attack computes the saliency of the
        model being trained at every step (`attack.args.saliency`: `gradient`,
        `smoothgrad` or `integrated_gradients`). Not what the paper's tables
        use; kept as an explicit variant.

    With `model` and `files`, training and validation batches are
    `{"image": x, "saliency": s}` (validation runs the same attack, from the
    same kind of maps), and `attack.args.saliency` must be null, so that a
    batch without maps is an error rather than a silent fall-back to the
    online gradient.
    """

    source: str
    model: typing.Optional[str] = None
    method: typing.Optional[str] = None
    method_args: typing.Dict[str, typing.Any] = dataclasses.field(default_factory=dict)
    batch_size: int = 250  # images per saliency call when computing the maps
    train: typing.Optional[str] = None
    cache_dir: typing.Optional[str] = None

    def check(self, path):
        if self.source not in SALIENCY_SOURCES:
            raise RecipeError(
                f"{path}.source: one of {', '.join(map(repr, SALIENCY_SOURCES))}. "
                f"Received: {self.source!r}"
            )
        used = {
            "model": ("model", "method", "method_args", "cache_dir"),
            "files": ("train",),
            "online": (),
        }[self.source]
        for name in ("model", "method", "method_args", "train", "cache_dir"):
            value = getattr(self, name)
            if name not in used and value not in (None, {}):
                raise RecipeError(
                    f"{path}.{name}: not used with source {self.source!r}; "
                    f"remove it (--set {path}.{name}=null). Received: {value!r}"
                )
        for name in used:
            if name in ("method_args", "cache_dir"):
                continue
            if not getattr(self, name):
                raise RecipeError(f"{path}.{name}: required with source {self.source!r}")
        if self.batch_size < 1:
            raise RecipeError(f"{path}.batch_size: must be >= 1. Received: {self.batch_size}")
        if self.source == "model":
            import inspect

            from tfrobust import saliency

            if self.method not in saliency.METHODS:
                raise RecipeError(
                    f"{path}.method: unknown saliency method {self.method!r}. "
                    f"Valid: {', '.join(saliency.METHODS)}"
                )
            parameters = inspect.signature(saliency.METHODS[self.method]).parameters
            valid = [p for p in parameters if p not in ("model", "x", "y")]
            for key in self.method_args:
                if key not in valid:
                    raise RecipeError(
                        f"{path}.method_args: {self.method} takes no argument "
                        f"{key!r}. Valid: {', '.join(valid) or 'none'}"
                    )


def check_saliency(recipe):
    """A SAT attack has a `saliency` section, and the attack and the section agree."""
    from tfrobust.recipes import registry

    attack = recipe.attack
    is_sat = (
        attack is not None
        and attack.name in registry.ATTACKS
        and registry.ATTACKS.get(attack.name).endswith(":SaliencyPGD")
    )
    if recipe.saliency is None:
        if is_sat:
            raise RecipeError(
                f"saliency: attack {attack.name!r} (SAT) needs a `saliency:` section saying where "
                "its maps come from: source model (a fixed model's maps, the SAT paper's CIFAR-100 "
                "table), files (weak saliency from boxes or masks, its Tiny-ImageNet / Flower-17 "
                "table) or online (the trained model's own gradient)"
            )
        return
    if not is_sat:
        raise RecipeError(
            "saliency: only a saliency_pgd training attack (SAT) uses saliency "
            f"maps. Received: attack={None if attack is None else attack.name!r}"
        )
    given = attack.args.get("saliency", "gradient")  # SaliencyPGD's default
    if recipe.saliency.source == "online" and given is None:
        raise RecipeError(
            "attack.args.saliency: saliency.source is 'online', so the attack "
            "computes the maps: name the method (gradient, smoothgrad, "
            "integrated_gradients). Received: null"
        )
    if recipe.saliency.source != "online" and "saliency" in attack.args and given is not None:
        raise RecipeError(
            f"attack.args.saliency: maps come with the data (saliency.source: "
            f"{recipe.saliency.source!r}); set it to null so that a batch without "
            f"maps is an error. Received: {given!r}"
        )


@dataclasses.dataclass
class ReportedResult:
    """A number the paper reports for this setting, kept apart from our own results."""

    accuracy: float
    source: str  # table or figure in the paper

    def check(self, path):
        if not 0 <= self.accuracy <= 1:
            raise RecipeError(f"{path}.accuracy: a fraction in [0, 1]. Received: {self.accuracy}")


@dataclasses.dataclass
class Recipe:
    name: str  # the zoo ID: "<dataset>/<arch>-<defense>"
    paper: str
    dataset: DatasetConfig
    model: ModelConfig
    objective: ComponentConfig
    training: TrainingConfig
    evaluation: EvaluationConfig
    attack: typing.Optional[ComponentConfig] = None
    saliency: typing.Optional[SaliencyConfig] = None  # SAT's maps: see `SaliencyConfig`
    reported: typing.Dict[str, ReportedResult] = dataclasses.field(default_factory=dict)
    scales: typing.Dict[str, typing.Dict[str, typing.Any]] = dataclasses.field(default_factory=dict)
    notes: str = ""

    def check(self, path):
        if "/" not in self.name:
            raise RecipeError(f"name: '<dataset>/<model>' as in the zoo. Received: {self.name!r}")
        check_saliency(self)
