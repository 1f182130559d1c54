"""The `insert` dicts that put a defense layer after stages of any architecture.

`fsr_insert`, `cas_insert`, `cifs_insert` and `denoising_insert` give the
`insert` argument of `tfrobust.architectures.get` (see `insertion.py`) for the
layers of `tfrobust.layers`, at the positions their papers use unless told
otherwise: the last residual stage, or every residual stage for denoising.
"""

import re

from tfrobust.architectures.registry import stage_names
from tfrobust.layers.cas import CAS
from tfrobust.layers.cifs import CIFS
from tfrobust.layers.denoising import DenoisingBlock
from tfrobust.layers.fsr import FSR


def residual_stages(arch):
    """The `stageN` names of `arch` in forward order: not the stem, not "features"."""
    return tuple(s for s in stage_names(arch) if re.fullmatch(r"stage\d+", s))


def check_stages(stages):
    """`stages` as a tuple after rejecting strings, empty and repeated names."""
    if isinstance(stages, str) or not stages or not all(isinstance(s, str) for s in stages):
        raise ValueError(
            f"`stages` must be a non-empty sequence of stage names. Received: stages={stages!r}"
        )
    if len(set(stages)) != len(stages):
        raise ValueError(f"`stages` has duplicates. Received: stages={stages!r}")
    return tuple(stages)


def counted_insert(cls, arch, num_classes, stages, kwargs):
    """`{stage: factory}` for `cls(channels, num_classes, num_layers=len(stages), ...)`.

    FSR and CAS average their losses over the layers inserted (the 1/|L| and
    beta/K of their papers), so every layer is told how many there are.
    `stages` defaults to the last residual stage.
    """
    stages = residual_stages(arch)[-1:] if stages is None else check_stages(stages)
    helper = f"{cls.__name__.lower()}_insert"
    if "num_layers" in kwargs:
        raise ValueError(
            f"`{helper}` sets `num_layers` to len(stages). "
            f"Received: num_layers={kwargs['num_layers']!r}"
        )
    cls(8, num_classes, **kwargs)  # reject bad arguments now, not at build

    def factory(name, channels):
        return cls(channels, num_classes, num_layers=len(stages), name=name, **kwargs)

    return {stage: factory for stage in stages}


def fsr_insert(arch, num_classes, stages=None, **fsr_kwargs):
    """The `insert` dict putting an `FSR(channels, num_classes, ...)` after stages of `arch`.

    Each layer gets `num_layers=len(stages)`, the 1/|L| of Eq. 5.

    Args:
        arch: a `tfrobust.architectures` name.
        num_classes: the model's classes.
        stages: stage names; default the last residual stage, after block 4
            of ResNet-18, the paper's best position (Table A4). (The
            reference code puts it after VGG-16's 4th block: `("stage4",)`.)
        **fsr_kwargs: other `FSR` arguments (`tau`, `lambda_sep`, ...).

    Example:
        >>> sorted(fsr_insert("resnet18", 10))
        ['stage4']
        >>> sorted(fsr_insert("resnet18", 10, stages=("stage3", "stage4"), tau=0.5))
        ['stage3', 'stage4']
    """
    return counted_insert(FSR, arch, num_classes, stages, fsr_kwargs)


def cas_insert(arch, num_classes, stages=None, **cas_kwargs):
    """The `insert` dict putting a `CAS(channels, num_classes, ...)` after stages of `arch`.

    Each layer gets `num_layers=len(stages)`, the K of beta/K.

    Args:
        arch: a `tfrobust.architectures` name.
        num_classes: the model's classes.
        stages: stage names; default the last residual stage, where the
            reference code suppresses channels in ResNet-18.
        **cas_kwargs: other `CAS` arguments (`beta`).

    Example:
        >>> sorted(cas_insert("resnet18", 10, beta=2.0))
        ['stage4']
    """
    return counted_insert(CAS, arch, num_classes, stages, cas_kwargs)


def cifs_insert(arch, num_classes, stages=None, **cifs_kwargs):
    """The `insert` dict putting a `CIFS(num_classes, **cifs_kwargs)` after stages of `arch`.

    Args:
        arch: a `tfrobust.architectures` name.
        num_classes: the model's classes.
        stages: insertion points (stage names, or block points such as
            "stage4_block1", `architectures.block_names(arch)`); default the
            last residual stage. The same `CIFS` arguments go to each; the
            reference's ResNet-18 (a non-linear probe after layer4's first
            block, a linear one after its second) needs one factory per
            point, as `recipes/cifs_cifar10_resnet18_pgd_at.yaml` builds it.
        **cifs_kwargs: other `CIFS` arguments. `loss_weight` defaults to
            `beta / |I|` with `beta = |I|`, i.e. 1.

    Example:
        >>> sorted(cifs_insert("resnet18", 10))
        ['stage4']
    """
    if stages is None:
        stages = residual_stages(arch)[-1:]
    CIFS(num_classes, **cifs_kwargs)  # reject bad arguments now, not at build

    def factory(name, channels):
        del channels  # the probe is sized at build
        return CIFS(num_classes, name=name, **cifs_kwargs)

    return {stage: factory for stage in stages}


def denoising_insert(arch, stages=None, **block_kwargs):
    """The `insert` dict putting a `DenoisingBlock(**block_kwargs)` after stages of `arch`.

    Args:
        arch: a `tfrobust.architectures` name.
        stages: stage names; default every residual stage ("stage1", "stage2",
            ...; the paper's res2 to res5 on the ImageNet ResNets), not the
            stem nor the pooled "features".
        **block_kwargs: `DenoisingBlock` arguments other than `channels`.

    Example:
        >>> insert = denoising_insert("resnet18", operation="nonlocal")
        >>> sorted(insert)
        ['stage1', 'stage2', 'stage3', 'stage4']
    """
    if stages is None:
        stages = residual_stages(arch)
    DenoisingBlock(8, **block_kwargs)  # reject bad arguments now, not at build

    def factory(name, channels):
        return DenoisingBlock(channels, name=name, **block_kwargs)

    return {stage: factory for stage in stages}
