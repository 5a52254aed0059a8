from langadapt.models.resolve import ModelNotFound, ResolvedModel, load_model, load_tokenizer, resolve_model

__all__ = ["ModelNotFound", "ResolvedModel", "load_model", "load_tokenizer", "resolve_model"]
