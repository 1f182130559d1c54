"""A Keras image classifier copied into PyTorch, weight for weight.

The reference attacks (AutoAttack's authors' code, torchattacks) run on
PyTorch modules. Comparing them with ours is only fair on the very same
function, so the copy walks the Keras graph layer by layer and reproduces
each layer exactly, TensorFlow's asymmetric 'same' padding and NHWC
flattening included; `tests/benchmarks/test_torch_copy.py` checks that the
logits agree within 1e-5. Only the layers of our MNIST/CIFAR CNNs and
ResNets are supported; any other layer is refused by name.

The copy takes NCHW images in [0, 1] (PyTorch's layout, as the reference
attacks expect); `nchw` and `nhwc` convert batches between the two layouts.
Its parameters do not require gradients: attacks need the input's gradient
only, and the reference code then skips the weights' gradients, which is its
fastest setting.
"""

import math

import numpy as np
import torch

TOLERANCE = 1e-5  # largest |logit difference| accepted between Keras and the copy


def nchw(x):
    """A NumPy NHWC batch as a contiguous float32 NCHW tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(x, "float32").transpose(0, 3, 1, 2)))


def nhwc(x):
    """A NCHW tensor as a NumPy NHWC batch."""
    return x.detach().permute(0, 2, 3, 1).numpy()


def torch_copy(model):
    """`model` (a Keras `Sequential` or functional model) as an eval-mode `torch.nn.Module`."""
    return KerasGraph(model).eval().requires_grad_(False)


def max_logit_difference(model, module, x):
    """Largest absolute difference between the logits of `model` and its copy on `x` (NHWC)."""
    with torch.no_grad():
        theirs = module(nchw(x)).numpy()
    return float(np.abs(theirs - np.asarray(model(x, training=False))).max())


class KerasGraph(torch.nn.Module):
    """The layers of a Keras model run in the order of its graph, on NCHW tensors."""

    def __init__(self, model):
        super().__init__()
        self.layers = torch.nn.ModuleDict()
        self.program = []  # (layer name, names of the layers whose outputs it takes)
        graph, self.output = _graph(model.get_config())
        for name, inputs in graph:
            self.layers[name] = _convert(model.get_layer(name))
            self.program.append((name, inputs))

    def forward(self, x):
        values = {}
        for name, inputs in self.program:
            values[name] = self.layers[name](*([values[i] for i in inputs] or [x]))
        return values[self.output]


def _graph(config):
    """`[(name, input layer names)]` in execution order and the output layer's name,
    from a model's Keras config."""
    layers = config["layers"]
    if not any(layer.get("inbound_nodes") for layer in layers):  # Sequential: a chain
        names = [layer["config"]["name"] for layer in layers if layer["class_name"] != "InputLayer"]
        return [
            (name, [previous] if previous else []) for previous, name in zip([None, *names], names)
        ], names[-1]
    outputs = config["output_layers"]
    if len(outputs) != 1 and not isinstance(outputs[0], str):
        raise NotImplementedError(f"Only single-output models can be copied. Received: {outputs}")
    graph = [(layer["name"], _history(layer.get("inbound_nodes", []))) for layer in layers]
    if len({name for name, _ in graph if not _}) != 1:
        raise NotImplementedError("Only single-input models can be copied.")
    return graph, (outputs[0] if isinstance(outputs[0], str) else outputs[0][0])


def _history(nodes):
    """Names of the layers that produced the tensors of a layer's (single) inbound node."""
    if len(nodes) > 1:
        raise NotImplementedError("Layers called more than once cannot be copied.")
    names = []

    def visit(arg):
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            names.append(arg["config"]["keras_history"][0])
        elif isinstance(arg, (list, tuple)):
            for item in arg:
                visit(item)

    for node in nodes:
        visit(node["args"])
    return names


def _convert(layer):
    """The PyTorch module computing what `layer` computes in inference mode."""
    kind = type(layer).__name__
    if kind not in _CONVERTERS:
        raise NotImplementedError(
            f"Cannot copy layer {layer.name!r} of type {kind} into PyTorch; supported: "
            f"{', '.join(sorted(_CONVERTERS))}"
        )
    return _CONVERTERS[kind](layer, layer.get_config())


def _tensor(array):
    return torch.from_numpy(np.ascontiguousarray(array, "float32"))


def _activation(name):
    if name not in ("linear", "relu"):
        raise NotImplementedError(f"Activation {name!r} cannot be copied.")
    return torch.nn.ReLU() if name == "relu" else torch.nn.Identity()


def _conv(layer, config):
    if tuple(config["dilation_rate"]) != (1, 1) or config["groups"] != 1:
        raise NotImplementedError(
            f"{layer.name}: dilated or grouped convolutions cannot be copied."
        )
    kernel, *bias = layer.get_weights()
    pads = (
        _same_padding(layer.input.shape[1:3], kernel.shape[:2], config["strides"])
        if config["padding"] == "same"
        else ((0, 0), (0, 0))
    )
    symmetric = all(before == after for before, after in pads)
    conv = torch.nn.Conv2d(
        kernel.shape[2],
        kernel.shape[3],
        kernel.shape[:2],
        config["strides"],
        padding=(pads[0][0], pads[1][0]) if symmetric else 0,
        bias=bool(bias),
    )
    conv.weight.data = _tensor(kernel.transpose(3, 2, 0, 1))
    if bias:
        conv.bias.data = _tensor(bias[0])
    (top, bottom), (left, right) = pads
    pad = torch.nn.Identity() if symmetric else torch.nn.ZeroPad2d((left, right, top, bottom))
    return torch.nn.Sequential(pad, conv, _activation(config["activation"]))


def _same_padding(size, kernel, strides):
    """TensorFlow's 'same' padding per spatial axis: the odd pixel goes after."""
    pads = []
    for n, k, s in zip(size, kernel, strides):
        total = max((math.ceil(n / s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _batch_norm(layer, config):
    if config["axis"] not in (-1, len(layer.input.shape) - 1):
        raise NotImplementedError(f"{layer.name}: only channels-last BatchNormalization.")
    weights = dict(zip((w.path.split("/")[-1] for w in layer.weights), layer.get_weights()))
    channels = weights["moving_mean"].shape[0]
    norm = (torch.nn.BatchNorm2d if len(layer.input.shape) == 4 else torch.nn.BatchNorm1d)(
        channels, eps=config["epsilon"]
    )
    norm.weight.data = _tensor(weights.get("gamma", np.ones(channels)))
    norm.bias.data = _tensor(weights.get("beta", np.zeros(channels)))
    norm.running_mean.data = _tensor(weights["moving_mean"])
    norm.running_var.data = _tensor(weights["moving_variance"])
    return norm


def _dense(layer, config):
    kernel, *bias = layer.get_weights()
    dense = torch.nn.Linear(*kernel.shape, bias=bool(bias))
    dense.weight.data = _tensor(kernel.T)
    if bias:
        dense.bias.data = _tensor(bias[0])
    return torch.nn.Sequential(dense, _activation(config["activation"]))


def _relu(layer, config):
    if config["max_value"] is not None or config["negative_slope"] or config["threshold"]:
        raise NotImplementedError(f"{layer.name}: only the plain ReLU can be copied.")
    return torch.nn.ReLU()


def _max_pool(layer, config):
    if config["padding"] != "valid":
        raise NotImplementedError(f"{layer.name}: only 'valid' max pooling can be copied.")
    return torch.nn.MaxPool2d(config["pool_size"], config["strides"])


class _Lambda(torch.nn.Module):
    """A parameter-free layer."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(*inputs)


class _Normalize(torch.nn.Module):
    """`tfrobust.architectures.Normalize`: `(x - mean) * (1 / std)` per channel, as Keras does."""

    def __init__(self, layer, config):
        super().__init__()
        self.register_buffer("mean", _tensor(config["mean"]).reshape(1, -1, 1, 1))
        self.register_buffer(
            "inv_std", _tensor([1.0 / s for s in config["std"]]).reshape(1, -1, 1, 1)
        )

    def forward(self, x):
        return (x - self.mean) * self.inv_std


def _zero_pad_shortcut(layer, config):
    """`tfrobust.architectures.shortcut.ZeroPadShortcut`: subsample, pad channels evenly."""
    s, extra = config["strides"], config["filters"] - layer.input.shape[-1]
    before = extra // 2
    return _Lambda(
        lambda x: torch.nn.functional.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, before, extra - before))
    )


def _flatten(layer, config):
    """Flattens in Keras's NHWC order, so the next Dense layer's kernel applies unchanged."""
    return _Lambda(lambda x: (x.permute(0, 2, 3, 1) if x.dim() == 4 else x).flatten(1))


def _global_average_pool(layer, config):
    keepdims = config["keepdims"]
    return _Lambda(lambda x: x.mean(dim=(2, 3), keepdim=keepdims))


_CONVERTERS = {
    "Activation": lambda layer, config: _activation(config["activation"]),
    "Add": lambda layer, config: _Lambda(lambda *xs: sum(xs[1:], xs[0])),
    "BatchNormalization": _batch_norm,
    "Conv2D": _conv,
    "Dense": _dense,
    "Flatten": _flatten,
    "GlobalAveragePooling2D": _global_average_pool,
    "Identity": lambda layer, config: torch.nn.Identity(),
    "InputLayer": lambda layer, config: torch.nn.Identity(),
    "MaxPooling2D": _max_pool,
    "Normalize": _Normalize,
    "ReLU": _relu,
    "ZeroPadShortcut": _zero_pad_shortcut,
}
