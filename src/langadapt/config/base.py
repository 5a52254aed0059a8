"""Shared base for every config section: unknown keys are errors, fields carry docs.

Each field's `description` is the single source for the recipe reference, the CLI
`--help` of the stage commands and the hyperparameter table of the model card.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section. Unknown keys fail validation so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())
