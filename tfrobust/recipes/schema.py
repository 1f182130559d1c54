"""The recipe format: what a paper setting specifies, as typed dataclasses.

One YAML file in `recipes/` per paper setting. `scales` holds named sets of
overrides (dotted keys), for example `cpu`: a smaller width and budget that
finishes on two CPU cores; `tfrobust train RECIPE --scale cpu` applies one.
"""

import dataclasses
import typing

from tfrobust.recipes.validation import RecipeError


@dataclasses.dataclass
class DatasetConfig:
    name: str
    augment: bool = False
    n_train: typing.Optional[int] = None  # first n training images; None: all
    n_val: int = 500  # test images used for validation during training
    data_dir: typing.Optional[str] = None


@dataclasses.dataclass
class LayerConfig:
    layer: str  # a name from `tfrobust.recipes.build.LAYERS`
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
            raise RecipeError(f"{path}.name: 'constant', 'piecewise' or 'cosine'. "
                              f"Received: {self.name!r}")


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

    def check(self, path):
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise RecipeError(f"{path}.{name}: must be >= 1. Received: {getattr(self, name)}")
        if self.eps_warmup_epochs < 0:
            raise RecipeError(f"{path}.eps_warmup_epochs: must be >= 0. "
                              f"Received: {self.eps_warmup_epochs}")


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
        default_factory=dict)  # per attack name, e.g. {"pgd": {"steps": 20}}
    curve_eps: typing.List[float] = dataclasses.field(default_factory=list)
    sanity: bool = True

    def check(self, path):
        if self.norm not in ("linf", "l2"):
            raise RecipeError(f"{path}.norm: 'linf' or 'l2'. Received: {self.norm!r}")
        for i, eps in enumerate([self.eps, *self.curve_eps]):
            where = f"{path}.eps" if i == 0 else f"{path}.curve_eps[{i - 1}]"
            if eps < 0 or (self.norm == "linf" and eps > 1):
                raise RecipeError(f"{where}: an L-inf budget is in the [0, 1] pixel scale "
                                  f"(8/255, not 8). Received: {eps}")


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
    reported: typing.Dict[str, ReportedResult] = dataclasses.field(default_factory=dict)
    scales: typing.Dict[str, typing.Dict[str, typing.Any]] = dataclasses.field(default_factory=dict)
    notes: str = ""

    def check(self, path):
        if "/" not in self.name:
            raise RecipeError(f"name: '<dataset>/<model>' as in the zoo. Received: {self.name!r}")
