from langadapt.errors import UserError


class ModelNotFound(UserError):
    """A model reference that cannot be resolved here; the message says why and what to do."""
