"""JAX implementations of the backend shim (see `tfrobust.backend`)."""

import jax
import keras

from tfrobust.backend.jax_conv import canonical_conv_gradients


def value_and_grad(fn, x, has_aux=False):
    """Value of the scalar `fn(x)` and its gradient with respect to `x`.

    With `has_aux=True`, `fn` returns `(scalar, aux)` and the result is
    `((scalar, aux), grad)`.
    """
    return jax.value_and_grad(fn, has_aux=has_aux)(x)


def xla_by_default():
    """JAX compiles with XLA or runs op by op: always compile."""
    return True


def compile_model_fn(model, fn, state=(), jit_compile=None):
    """Compile `fn(forward, *args)` where `forward(x)` runs `model` in inference mode.

    Under `jax.jit` a Keras variable read inside the traced function would be
    frozen as a constant, so the model's weights and the variables in `state`
    (for example `SeedGenerator.state`, which `fn` advances) are passed in as
    arguments, and the updated `state` is written back after each call.
    The outputs (logits, or a list for multi-output models) are float32 whatever
    the model's dtype policy, so that attack losses and gradients are computed
    in float32 under mixed precision. Convolutions are traced with
    `canonical_conv_gradients` (fast input gradients in XLA:CPU loops).
    """
    state = list(state)

    @canonical_conv_gradients()
    def run(trainable, non_trainable, state_values, *args):
        def forward(x):
            logits, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            return jax.tree_util.tree_map(lambda t: t.astype("float32"), logits)

        with keras.StatelessScope(state_mapping=list(zip(state, state_values))) as scope:
            out = fn(forward, *args)
        return out, [scope.get_current_value(v) for v in state]

    run = jax.jit(run) if jit_compile or jit_compile is None else run

    def compiled(*args):
        out, new_state = run(
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in state],
            *args,
        )
        for variable, value in zip(state, new_state):
            variable.assign(value)
        return out

    return compiled


def _stateless(variables, values, fn, collect_losses=False):
    """Run `fn()` with `variables` bound to `values`; return its output and the new values."""
    with keras.StatelessScope(
        state_mapping=list(zip(variables, values)), collect_losses=collect_losses
    ) as scope:
        out = fn()
    new_values = []
    for variable, value in zip(variables, values):
        current = scope.get_current_value(variable)
        new_values.append(value if current is None else current)
    return out, new_values


@canonical_conv_gradients()
def train_step(model, state, data):
    """One step of an `AdversarialModel`, stateless as `jax.jit` requires.

    `state` is Keras's `(trainable, non_trainable, optimizer, metrics)` values;
    the non-trainable ones include BatchNorm statistics and the attack's seed.
    Keras traces it under `jax.jit`, with `canonical_conv_gradients` for the
    attack's loop.
    """
    trainable, non_trainable, optimizer_values, metric_values = state
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    variables = model.trainable_variables + model.non_trainable_variables

    (x_adv, clean_logits), values = _stateless(
        variables, [*trainable, *non_trainable], lambda: model.generate(x, y)
    )
    non_trainable = values[len(trainable) :]

    def loss_fn(trainable, non_trainable):
        (loss, y_pred), values = _stateless(
            variables,
            [*trainable, *non_trainable],
            lambda: model.objective_loss(x, y, x_adv, clean_logits, training=True),
            collect_losses=True,
        )
        # The loss scale of mixed_float16 is an optimizer variable: read it statelessly,
        # as Keras's own JAX trainer does.
        with keras.StatelessScope(
            state_mapping=list(zip(model.optimizer.variables, optimizer_values))
        ):
            scaled = model.optimizer.scale_loss(loss)
        return scaled, (y_pred, values[len(trainable) :])

    (_, (y_pred, non_trainable)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        trainable, non_trainable
    )
    trainable, optimizer_values = model.optimizer.stateless_apply(
        optimizer_values, grads, trainable
    )
    logs, metric_values = _stateless(
        model.metrics_variables,
        metric_values,
        lambda: model.compute_metrics(x, y, y_pred, sample_weight),
    )
    return logs, (trainable, non_trainable, optimizer_values, metric_values)


@canonical_conv_gradients()
def test_step(model, state, data):
    """Evaluation of an `AdversarialModel` under its training attack, stateless."""
    trainable, non_trainable, metric_values = state
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    variables = model.trainable_variables + model.non_trainable_variables

    def evaluate():
        x_adv, clean_logits = model.generate(x, y)
        return model.objective_loss(x, y, x_adv, clean_logits, training=False)[1]

    y_pred, values = _stateless(variables, [*trainable, *non_trainable], evaluate)
    non_trainable = values[len(trainable) :]
    logs, metric_values = _stateless(
        model.metrics_variables,
        metric_values,
        lambda: model.compute_metrics(x, y, y_pred, sample_weight),
    )
    return logs, (trainable, non_trainable, metric_values)
