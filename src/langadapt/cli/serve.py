"""`langadapt chat`, `langadapt serve`, `langadapt webui` (not built yet)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    for cmd, help_text in (("chat", "Talk to a model in the terminal."),
                           ("serve", "OpenAI-compatible HTTP API."),
                           ("webui", "Gradio chat page with side-by-side mode.")):
        p = sub.add_parser(cmd, help=help_text, description=help_text)
        p.set_defaults(func=not_built(cmd))
