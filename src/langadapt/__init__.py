"""langadapt: adapt a pretrained LLM to a new language, end to end."""

__version__ = "0.1.0"
