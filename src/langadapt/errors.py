"""Errors meant for the user: the CLI prints their message on one line and exits 2, never a traceback."""


class UserError(Exception):
    """Bad input or an unmet requirement; the message says what and how to fix it."""


class MissingDependency(UserError):
    """An optional extra is needed for the step that was asked for."""


def require(module: str, extra: str, feature: str) -> None:
    """Fail with the install hint when an optional dependency is missing (checked when a step is built)."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependency(f"{feature} needs the `{module}` package: pip install 'langadapt[{extra}]'")
