"""Where the `*_insert` helpers put defense layers: an architecture's residual stages."""

import re

from tfrobust.architectures import stage_names


def residual_stages(arch):
    """The `stageN` names of `arch` in forward order: not the stem, not "features"."""
    return tuple(s for s in stage_names(arch) if re.fullmatch(r"stage\d+", s))


def check_stages(stages):
    """`stages` as a tuple after rejecting strings, empty and repeated names."""
    if isinstance(stages, str) or not stages or not all(isinstance(s, str) for s in stages):
        raise ValueError("`stages` must be a non-empty sequence of stage names. "
                         f"Received: stages={stages!r}")
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
        raise ValueError(f"`{helper}` sets `num_layers` to len(stages). "
                         f"Received: num_layers={kwargs['num_layers']!r}")
    cls(8, num_classes, **kwargs)  # reject bad arguments now, not at build

    def factory(name, channels):
        return cls(channels, num_classes, num_layers=len(stages), name=name, **kwargs)

    return {stage: factory for stage in stages}
