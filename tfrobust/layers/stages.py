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
