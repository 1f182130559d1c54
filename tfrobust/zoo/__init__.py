"""The model zoo: `list_models()`, `load_model(name)`, and the files behind them."""

from tfrobust.zoo.download import DownloadError
from tfrobust.zoo.download import WeightsChecksumError
from tfrobust.zoo.entry import Entry
from tfrobust.zoo.entry import find_entries
from tfrobust.zoo.entry import models_dir
from tfrobust.zoo.leaderboard import write_leaderboard
from tfrobust.zoo.load import list_models
from tfrobust.zoo.load import load_model

__all__ = [
    "DownloadError",
    "Entry",
    "WeightsChecksumError",
    "find_entries",
    "list_models",
    "load_model",
    "models_dir",
    "write_leaderboard",
]
