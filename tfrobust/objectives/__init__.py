"""Adversarial-training objectives for `tfrobust.adversarial(model, objective, attack)`."""

from tfrobust.objectives.alp import AALP
from tfrobust.objectives.alp import ALP
from tfrobust.objectives.base import Objective
from tfrobust.objectives.mart import MART
from tfrobust.objectives.pgd_at import PGDAT
from tfrobust.objectives.standard import Standard
from tfrobust.objectives.trades import TRADES

__all__ = ["AALP", "ALP", "MART", "Objective", "PGDAT", "Standard", "TRADES"]
