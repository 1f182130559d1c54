"""Turn a validated `Recipe` into data, a model, an objective, an attack, an optimizer."""

import math

import keras

from tfrobust.recipes import registry
from tfrobust.training.l2_sgd import L2SGD


def datasets(recipe):
    """`(train, validation)` `tf.data` pipelines as the recipe describes them."""
    from tfrobust import data

    config, training = recipe.dataset, recipe.training
    train = data.load(config.name, "train", config.data_dir, batch_size=training.batch_size,
                      shuffle=True, augment=config.augment, n=config.n_train, seed=training.seed)
    validation = data.load(config.name, "test", config.data_dir,
                           batch_size=training.batch_size, n=config.n_val)
    return train, validation


def model(recipe, input_shape=None):
    """The classifier, with the recipe's defense layers inserted.

    `input_shape` overrides the dataset's (tests build ImageNet models smaller).
    """
    from tfrobust import architectures
    from tfrobust import data
    from tfrobust.layers import with_guided_dropout

    spec = data.get_spec(recipe.dataset.name)
    insert = {}
    for stage, layer in recipe.model.insert.items():
        cls = registry.resolve("layer", registry.LAYERS, layer.layer, f"model.insert.{stage}")
        insert[stage] = registry.layer_factory(cls, layer.args, spec.num_classes)
    classifier = architectures.get(recipe.model.architecture, num_classes=spec.num_classes,
                                   input_shape=input_shape or spec.image_shape,
                                   width=recipe.model.width,
                                   insert=insert)
    return with_guided_dropout(classifier) if recipe.model.guided_dropout else classifier


def objective(recipe):
    return registry.instantiate("objective", registry.OBJECTIVES, recipe.objective, "objective")


def attack(recipe):
    if recipe.attack is None:
        return None
    return registry.instantiate("attack", registry.ATTACKS, recipe.attack, "attack",
                                seed=recipe.training.seed)


def trainer(recipe, classifier):
    """The model whose `fit` trains `classifier` with the recipe's objective and attack.

    A saliency-initialised attack (SAT) needs `SATModel`, which owns its alpha^t schedule.
    """
    from tfrobust.attacks.saliency_init import SaliencyPGD
    from tfrobust.training import adversarial

    training_attack = attack(recipe)
    if isinstance(training_attack, SaliencyPGD):
        from tfrobust.saliency.sat import SATModel

        return SATModel(classifier, objective(recipe), training_attack)
    return adversarial(classifier, objective(recipe), training_attack)


def steps_per_epoch(recipe):
    """Steps in one epoch: the recipe's, else one pass over the training images."""
    if recipe.training.steps_per_epoch is not None:
        return recipe.training.steps_per_epoch
    from tfrobust import data

    n = recipe.dataset.n_train
    if n is None:
        n = len(data.load_uint8(recipe.dataset.name, "train", recipe.dataset.data_dir)[1])
    return math.ceil(n / recipe.training.batch_size)


def learning_rate(recipe):
    """A Keras schedule over steps built from the recipe's epoch-based schedule."""
    config, rate = recipe.training.schedule, recipe.training.optimizer.learning_rate
    if config.name == "constant":
        return rate
    steps = steps_per_epoch(recipe)
    if config.name == "piecewise":
        boundaries = [int(b * steps) for b in config.boundaries]
        values = [rate * config.factor ** i for i in range(len(boundaries) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)
    return keras.optimizers.schedules.CosineDecay(rate, recipe.training.epochs * steps)


def optimizer(recipe):
    config = recipe.training.optimizer
    rate = learning_rate(recipe)
    if config.name == "adam":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    # The papers' weight decay is PyTorch's coupled L2, not Keras's decoupled one.
    return L2SGD(rate, momentum=config.momentum, nesterov=config.nesterov,
                 l2=config.weight_decay)
