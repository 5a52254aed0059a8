from langadapt.config.load import RecipeError, dump_recipe, load_recipe, recipe_from_dict
from langadapt.config.recipe import STAGES, Recipe

__all__ = ["STAGES", "Recipe", "RecipeError", "dump_recipe", "load_recipe", "recipe_from_dict"]
