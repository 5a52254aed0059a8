from langadapt.config.load import RecipeError, dump_recipe, load_recipe, recipe_from_dict
from langadapt.config.recipe import Recipe

__all__ = ["Recipe", "RecipeError", "dump_recipe", "load_recipe", "recipe_from_dict"]
