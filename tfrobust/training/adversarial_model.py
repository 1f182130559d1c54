"""`AdversarialModel`: a Keras model whose `fit` trains against an attack.

Each step has two phases, shared by every backend:
1. `generate`: the model in inference mode (BatchNorm statistics untouched,
   as in the reference implementations) and the training attack produce
   adversarial examples; nothing is differentiated with respect to weights.
2. `objective_loss`: training-mode passes on the images the objective needs,
   its loss terms, plus the losses of the model's defense layers (FSR, CIFS,
   CAS: their `add_loss` terms and `output_losses`), so any layer works with
   any objective. The passes run inside `labels.label_scope(y)` for layers
   whose losses need labels. Layer losses count on the adversarial pass only
   (the clean pass for objectives without an attack), as the reference
   implementations of FSR, CIFS and CAS train.
Logits and losses are float32 under any dtype policy (mixed precision trains
the network in bfloat16 or float16, never the loss or the attack's gradient).
Only the gradient and state mechanics differ per backend
(`tfrobust.backend.train_step`, `test_step`). Validation (`fit(validation_data=
...)`, `evaluate`) runs the same attack, so `val_adv_accuracy` is robust
accuracy under the training attack.

Inputs may be `{"image": x, "saliency": s}` instead of images: the model sees
`x` and the attack receives `perturb(forward, x, target, saliency=s)`, so a
dataset can carry precomputed saliency maps to a saliency-initialised attack
(SAT, `tfrobust.attacks.saliency_init`).

The training attack's state is the model's: every variable and seed generator
it holds is tracked (the JAX train step reads variables only from the model's
state, and `training.backup` saves them), and `fit` adds the callbacks the
attack asks for (`Attack.training_callbacks`: SAT's alpha^t schedule).
"""

import keras
from keras import ops

from tfrobust import backend
from tfrobust.labels import label_scope
from tfrobust.training import checked_data


def split_inputs(x):
    """`(images, saliency)` from images, or from `{"image": ..., "saliency": ...}` (SAT)."""
    if not isinstance(x, dict):
        return x, None
    if "image" not in x or set(x) - {"image", "saliency"}:
        raise ValueError(
            'Dict inputs must be {"image": ..., "saliency": ...} (saliency '
            f"optional). Received keys: {sorted(x)}"
        )
    return x["image"], x.get("saliency")


def attack_state(attack):
    """The variables and seed generators `attack` holds, found as Keras finds a layer's."""
    return [
        value
        for value in vars(attack).values()
        if isinstance(value, (keras.Variable, keras.random.SeedGenerator))
    ]


# `MultiWorkerFitMixin` works around keras-team/keras#20585 so that `fit` runs under
# MultiWorkerMirroredStrategy (see `backend/multi_worker.py`); it is inert otherwise.
class AdversarialModel(backend.MultiWorkerFitMixin, keras.Model):
    """Wraps a classifier (logits out, [0, 1] images in) for adversarial training.

    Args:
        model: the Keras classifier to train.
        objective: a `tfrobust.objectives.Objective`.
        attack: a `tfrobust.attacks.Attack` used during training, or `None`
            for objectives that need none (`Standard`).

    Logs `loss`, `clean_accuracy`, `adv_accuracy` (accuracy on the training
    attack's examples), each of the objective's terms and, when the model has
    layers that add losses, their sum as `layer_loss`.

    Example:
        >>> import tfrobust
        >>> from tfrobust import architectures, attacks, data, objectives
        >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
        >>> model = architectures.get("lenet")
        >>> robust = tfrobust.adversarial(model, objectives.TRADES(beta=6.0),
        ...                               attacks.PGD(eps=0.3, step_size=0.1, steps=2))
        >>> robust.compile(optimizer="sgd")
        >>> history = robust.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
        >>> sorted(history.history)
        ['adv_accuracy', 'ce', 'clean_accuracy', 'loss', 'trades_kl']
    """

    def __init__(self, model, objective, attack=None, **kwargs):
        super().__init__(**kwargs)
        if objective.needs_adversarial and attack is None:
            raise ValueError(f"{objective!r} trains on adversarial examples: pass an attack.")
        self.model = model
        self.built = model.built  # its variables are the classifier's: nothing more to build
        self.objective = objective
        self.attack = attack
        self.training_attack = None
        if attack is not None:
            self.training_attack = self._inner_attack(attack)
            # Tracked, so the attack's state (its random state, SAT's alpha^t) is the model's.
            self.attack_state = attack_state(self.training_attack)
        self.clean_accuracy = keras.metrics.SparseCategoricalAccuracy(name="clean_accuracy")
        self.adv_accuracy = (
            keras.metrics.SparseCategoricalAccuracy(name="adv_accuracy")
            if attack is not None
            else None
        )
        self.term_trackers = [keras.metrics.Mean(name=name) for name in objective.terms]
        # Defense layers that `add_loss` set `adds_loss = True`; their sum is logged.
        self.layer_loss_tracker = (
            keras.metrics.Mean(name="layer_loss")
            if any(getattr(layer, "adds_loss", False) for layer in model._flatten_layers())
            else None
        )

    def compile(self, *args, jit_compile="auto", **kwargs):
        """`keras.Model.compile`, but `"auto"` means `backend.xla_by_default()`.

        Keras's own "auto" turns XLA on for TensorFlow on CPU too, where it
        made our training steps 2.2x slower (benchmarks/README.md).
        """
        if jit_compile == "auto":
            jit_compile = backend.xla_by_default()
        super().compile(*args, jit_compile=jit_compile, **kwargs)

    def fit(self, x=None, y=None, *args, validation_data=None, callbacks=None, **kwargs):
        """`keras.Model.fit`, with the labels and images checked first (`checked_data`).

        The training attack's `training_callbacks()` run after `callbacks`.

        Raises:
            ValueError: for array labels that are not integers in
                `[0, num_classes)`, one per image, or non-finite images; a
                dataset's batches fail the same way as they are read.
        """
        x, y = checked_data.checked(self.model, x, y)
        validation_data = checked_data.checked_validation(self.model, validation_data)
        if "shuffle" not in kwargs and not hasattr(x, "shape"):
            kwargs["shuffle"] = False  # a dataset orders itself; Keras warns that True is ignored
        if self.attack is not None:
            callbacks = [*(callbacks or []), *self.attack.training_callbacks()]
        with checked_data.dataset_errors():
            return super().fit(
                x, y, *args, validation_data=validation_data, callbacks=callbacks, **kwargs
            )

    def _inner_attack(self, attack):
        """`attack`, ascending the objective's inner loss where it has its own (TRADES)."""
        inner_loss = self.objective.attack_loss()
        return attack if inner_loss is None else attack.with_loss(inner_loss)

    def scale_attack_budget(self, fraction):
        """Train (and validate) from now on against `attack.scaled(fraction)`.

        The compiled steps are rebuilt, since the budget is traced into them.
        """
        self.training_attack = self._inner_attack(self.attack.scaled(fraction))
        self.make_train_function(force=True)
        self.make_test_function(force=True)

    def call(self, x, training=False):
        return self.model(split_inputs(x)[0], training=training)

    def generate(self, x, y):
        """Adversarial examples and inference-mode clean logits (phase 1)."""
        if self.training_attack is None:
            return None, None
        x, saliency = split_inputs(x)
        extra = {} if saliency is None else {"saliency": saliency}

        def forward(z):
            return ops.cast(self.model(z, training=False), "float32")

        clean_logits = forward(x)
        target = self.objective.attack_target(y, clean_logits)
        x_adv = self.training_attack.perturb(forward, x, target, **extra)
        return ops.stop_gradient(x_adv), ops.stop_gradient(clean_logits)

    def objective_loss(self, x, y, x_adv, clean_eval_logits, training):
        """The total loss and what the metrics need (phase 2)."""
        x = split_inputs(x)[0]
        layer_losses = []

        def forward(z, with_layer_losses):
            with label_scope(y) as training_pass:
                logits = ops.cast(self.model(z, training=training), "float32")
            if with_layer_losses:
                layer_losses.extend(
                    ops.cast(loss, "float32")
                    for loss in [*self.model.losses, *training_pass.output_losses(logits)]
                )
            return logits

        clean = forward(x, x_adv is None) if self.objective.needs_clean else None
        adversarial = forward(x_adv, True) if x_adv is not None else None
        terms = self.objective(y, clean, adversarial)
        layer_loss = ops.sum(ops.stack(layer_losses)) if layer_losses else ops.zeros(())
        loss = ops.sum(ops.stack(terms)) + layer_loss
        y_pred = {
            "loss": loss,
            "terms": terms,
            "layer_loss": layer_loss,
            "adversarial": adversarial,
            "clean": clean if clean is not None else clean_eval_logits,
        }
        return loss, y_pred

    def train_step(self, *args):
        return backend.train_step(self, *args)

    def test_step(self, *args):
        return backend.test_step(self, *args)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the loss, accuracy and term trackers from `objective_loss`'s `y_pred`."""
        batch_size = ops.shape(y)[0]
        self._loss_tracker.update_state(y_pred["loss"], sample_weight=batch_size)
        self.clean_accuracy.update_state(y, y_pred["clean"])
        if self.adv_accuracy is not None:
            self.adv_accuracy.update_state(y, y_pred["adversarial"])
        for tracker, value in zip(self.term_trackers, y_pred["terms"]):
            tracker.update_state(value, sample_weight=batch_size)
        if self.layer_loss_tracker is not None:
            self.layer_loss_tracker.update_state(y_pred["layer_loss"], sample_weight=batch_size)
        main = y_pred["adversarial"] if y_pred["adversarial"] is not None else y_pred["clean"]
        return super().compute_metrics(x, y, main, sample_weight)


def adversarial(model, objective, attack=None):
    """`AdversarialModel(model, objective, attack)`: see its docstring."""
    return AdversarialModel(model, objective, attack)
