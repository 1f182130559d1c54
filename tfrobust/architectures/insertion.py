"""Named stages and the one way to insert a layer after any of them.

Feature-level defenses (FSR, denoising blocks, CIFS, guided dropout) sit
between stages, and k-NN evaluation or probes read the penultimate features.
So every architecture declares its stage names, the last one always
`"features"` (the vector the classifier reads), and routes each stage output
through a `keras.layers.Identity` named after the stage:
`model.get_layer("stage2").output` is that stage's output whatever was
inserted.

`insert` maps a stage name to a factory `(name, channels) -> keras.layers.Layer`;
the layer it returns (named `name`, which is `"<stage>_insert"`) is applied to
the stage output and feeds the rest of the network:

    get("resnet18", insert={"stage4": lambda name, channels: FSR(channels, name=name)})

A factory, not a layer instance, so that each model gets fresh weights and
the factory can size the layer to the stage's channels.
"""

import keras

FEATURES = "features"


def check_insert(arch, stage_names, insert):
    """Return `insert` as a dict after rejecting unknown stages and non-factories."""
    insert = {} if insert is None else insert
    if not isinstance(insert, dict):
        raise TypeError(
            "`insert` must be a dict {stage_name: factory}. "
            f"Received: insert={insert!r}"
        )
    unknown = [key for key in insert if key not in stage_names]
    if unknown:
        raise ValueError(
            f"Unknown insertion point(s) {unknown} for {arch!r}; its stages are "
            f"{list(stage_names)}. Received: insert keys={list(insert)}"
        )
    for stage, factory in insert.items():
        if isinstance(factory, keras.layers.Layer) or not callable(factory):
            raise TypeError(
                f"`insert[{stage!r}]` must be a factory `(name, channels) -> Layer`, "
                "e.g. `lambda name, channels: MyLayer(channels, name=name)`, "
                f"not a layer instance. Received: {factory!r}"
            )
    return dict(insert)


class Stages:
    """Tags stage outputs in declaration order and applies inserted layers.

    Args:
        arch: architecture name, for error messages.
        names: the architecture's stage names, in forward order, ending in
            `"features"`.
        insert: dict `{stage_name: factory}` or `None`; see the module docstring.

    Call arguments:
        x: the stage's output tensor.
        name: the stage's name; must be the next one in `names`.
    """

    def __init__(self, arch, names, insert=None):
        if not names or names[-1] != FEATURES:
            raise ValueError(
                f"Stage names must end in {FEATURES!r}. Received: names={names!r}"
            )
        self.arch = arch
        self.names = tuple(names)
        self.insert = check_insert(arch, self.names, insert)
        self._seen = 0

    def __call__(self, x, name):
        expected = self.names[self._seen] if self._seen < len(self.names) else None
        if name != expected:
            raise RuntimeError(
                f"{self.arch!r} tagged stage {name!r} where {expected!r} was declared."
            )
        self._seen += 1
        x = keras.layers.Identity(name=name)(x)
        factory = self.insert.get(name)
        if factory is None:
            return x
        layer = factory(f"{name}_insert", int(x.shape[-1]))
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                f"The factory inserted after {name!r} must return a keras Layer. "
                f"Received: {layer!r}"
            )
        return layer(x)

    def check_complete(self):
        """Fail if a builder forgot to tag a declared stage."""
        if self._seen != len(self.names):
            raise RuntimeError(
                f"{self.arch!r} tagged only {list(self.names[:self._seen])} "
                f"of its stages {list(self.names)}."
            )
