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

Some defenses sit inside a stage (CIFS after each block of ResNet-18's last
stage). Architectures that support it also declare *block points*
(`registry.block_names(arch)`): `"<stage>_block<j>"`, the output of block `j`
(after its residual sum and, for post-activation blocks, its ReLU), and for
pre-activation blocks `"<stage>_block<j>_preact"`, the block's pre-activated
input to its residual branch (the shortcut keeps reading it unmodified). The
same `insert` dict places layers there:

    get("resnet18", insert={"stage4_block1": f1, "stage4": f2})

A block point adds no layer unless something is inserted there, so models
without such insertions are unchanged; a layer inserted at a stage's last
block comes before that stage's `Identity` tag, one inserted at the stage
after it.
"""

import keras

FEATURES = "features"


def check_insert(arch, stage_names, insert, block_names=()):
    """Return `insert` as a dict after rejecting unknown points and non-factories."""
    insert = {} if insert is None else insert
    if not isinstance(insert, dict):
        raise TypeError(
            f"`insert` must be a dict {{stage_name: factory}}. Received: insert={insert!r}"
        )
    unknown = [key for key in insert if key not in stage_names and key not in block_names]
    if unknown:
        blocks = f" and its block points {list(block_names)}" if block_names else ""
        raise ValueError(
            f"Unknown insertion point(s) {unknown} for {arch!r}; its stages are "
            f"{list(stage_names)}{blocks}. Received: insert keys={list(insert)}"
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
        insert: dict `{stage_or_block_name: factory}` or `None`; see the
            module docstring.
        blocks: the block points the builder offers (`block(x, name)`), if any.

    Call arguments:
        x: the stage's output tensor.
        name: the stage's name; must be the next one in `names`.
    """

    def __init__(self, arch, names, insert=None, blocks=()):
        if not names or names[-1] != FEATURES:
            raise ValueError(f"Stage names must end in {FEATURES!r}. Received: names={names!r}")
        self.arch = arch
        self.names = tuple(names)
        self.blocks = tuple(blocks)
        self.insert = check_insert(arch, self.names, insert, self.blocks)
        self._seen = 0
        self._blocks_seen = set()

    def __call__(self, x, name):
        expected = self.names[self._seen] if self._seen < len(self.names) else None
        if name != expected:
            raise RuntimeError(
                f"{self.arch!r} tagged stage {name!r} where {expected!r} was declared."
            )
        self._seen += 1
        return self._apply(keras.layers.Identity(name=name)(x), name)

    def block(self, x, name):
        """A block point: `x` through the layer inserted at `name`, else `x` itself."""
        if name not in self.blocks or name in self._blocks_seen:
            raise RuntimeError(
                f"{self.arch!r} offered block point {name!r}, which is undeclared or "
                f"offered twice; its block points are {list(self.blocks)}."
            )
        self._blocks_seen.add(name)
        return self._apply(x, name)

    def _apply(self, x, name):
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
        """Fail if a builder forgot to tag a declared stage or offer a declared block point."""
        if self._seen != len(self.names):
            raise RuntimeError(
                f"{self.arch!r} tagged only {list(self.names[: self._seen])} "
                f"of its stages {list(self.names)}."
            )
        missing = [b for b in self.blocks if b not in self._blocks_seen]
        if missing:
            raise RuntimeError(f"{self.arch!r} declared block points {missing} it never offered.")
