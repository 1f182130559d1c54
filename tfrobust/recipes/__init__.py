"""Paper settings as validated YAML recipes (`recipes/*.yaml`)."""

from tfrobust.recipes.load import load_recipe
from tfrobust.recipes.schema import Recipe
from tfrobust.recipes.validation import RecipeError

__all__ = ["Recipe", "RecipeError", "load_recipe"]
