"""Pairwise LLM judge (Vicuna / MT-Bench style) through any OpenAI-compatible chat endpoint.

    from langadapt.eval.judge import Judge
    judge = Judge("http://127.0.0.1:8000/v1", "judge-model")
    outcome = judge.compare("question", "answer of model 1", "answer of model 2", reference=None)
    outcome["outcome"]   # "win" / "tie" / "loss" for model 1

Every pair is judged twice, once in each order, because judges favour one position; a model wins
only when both orders agree, a split verdict is a tie. The judge's reasons are kept for both
orders so a person can check them. The prompt is a template file (`templates/pairwise.txt` by
default) with `[system]` and `[user]` parts and `$question`, `$reference_block`, `$answer_a`,
`$answer_b` placeholders.

The judge's key goes where the data client's does and nowhere else (`data/llm_client.py`): no key
over plain http to another machine, and OPENAI_API_KEY, the default `eval.judge.api_key_env`, only to
https://api.openai.com, because that variable is usually set for OpenAI and must not reach whatever
server `eval.judge.base_url` names. Another variable named in `api_key_env` is sent to that server.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from string import Template
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from langadapt.data.llm_client import OPENAI_HOST, check_endpoint
from langadapt.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = Path(__file__).parent / "templates" / "pairwise.txt"
_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")


def load_template(path: str | Path | None = None) -> tuple[Template, Template]:
    text = Path(path or DEFAULT_TEMPLATE).read_text(encoding="utf-8")
    if "[user]" not in text:
        raise UserError(f"judge template {path}: needs a [user] section (and optionally [system] before it)")
    system, _, user = text.partition("[user]")
    system = system.replace("[system]", "", 1).strip()
    return Template(system), Template(user.strip())


def parse_verdict(text: str) -> str | None:
    """The last [[A]]/[[B]]/[[C]] in the reply ('A', 'B' or 'C'), or None when there is none."""
    found = _VERDICT.findall(text or "")
    return found[-1] if found else None


class Judge:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, template: str | Path | None = None,
                 timeout: float = 120.0, max_tokens: int = 1024) -> None:
        import httpx

        if not base_url or not model:
            raise UserError("the LLM judge needs both a base URL and a model name (eval.judge.base_url, eval.judge.model)")
        check_endpoint(base_url, bool(api_key), url_setting="eval.judge.base_url",
                       key_setting="the variable named in eval.judge.api_key_env")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.max_tokens = max_tokens
        self.system, self.user = load_template(template)
        self._client = httpx.Client(headers=headers, timeout=timeout)

    def ask(self, question: str, answer_a: str, answer_b: str, reference: str | None = None) -> dict[str, Any]:
        import httpx

        if isinstance(reference, (list, tuple)):
            reference = reference[0] if reference else None
        values = {"question": question, "answer_a": answer_a, "answer_b": answer_b,
                  "reference_block": f"\n[Reference answer]\n{reference}\n[End of reference answer]\n" if reference else ""}
        messages = ([{"role": "system", "content": self.system.safe_substitute(values)}] if self.system.template else [])
        messages.append({"role": "user", "content": self.user.safe_substitute(values)})
        body = {"model": self.model, "messages": messages, "temperature": 0.0, "max_tokens": self.max_tokens}
        try:
            reply = self._client.post(self.url, json=body)
            reply.raise_for_status()
            text = reply.json()["choices"][0]["message"]["content"] or ""
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            return {"verdict": None, "reasoning": f"judge request failed: {type(exc).__name__}: {exc}"}
        return {"verdict": parse_verdict(text), "reasoning": text.strip()}

    def compare(self, question: str, answer_1: str, answer_2: str, reference: str | None = None) -> dict[str, Any]:
        """Judge model 1 against model 2 in both orders; outcome from model 1's side."""
        first = self.ask(question, answer_1, answer_2, reference)    # model 1 is A
        second = self.ask(question, answer_2, answer_1, reference)   # model 1 is B
        side_1 = {"A": "win", "B": "loss", "C": "tie"}.get(first["verdict"] or "", "tie")
        side_2 = {"B": "win", "A": "loss", "C": "tie"}.get(second["verdict"] or "", "tie")
        return {
            "outcome": side_1 if side_1 == side_2 else "tie",
            "consistent": side_1 == side_2 and first["verdict"] is not None and second["verdict"] is not None,
            "model_1_first": first, "model_1_second": second,
        }

    def close(self) -> None:
        self._client.close()


def summarise(outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    n = len(outcomes)
    counts = {k: sum(o["outcome"] == k for o in outcomes) for k in ("win", "tie", "loss")}
    return {**counts, "n": n, "win_rate": counts["win"] / n if n else float("nan"),
            "consistent": sum(o["consistent"] for o in outcomes)}


def judge_api_key(base_url: str, api_key_env: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The key sent to the judge: the variable `api_key_env` names, except that OPENAI_API_KEY goes only
    to https://api.openai.com (see the module docstring)."""
    env = os.environ if environ is None else environ
    key = env.get(api_key_env) or None
    if key and api_key_env == "OPENAI_API_KEY":
        parts = urlsplit(base_url)
        if not (parts.scheme == "https" and (parts.hostname or "").lower() == OPENAI_HOST):
            log.warning("OPENAI_API_KEY is set but is only sent to https://%s; the judge at %s gets no key "
                        "(name the variable that holds its key in eval.judge.api_key_env)", OPENAI_HOST, parts.hostname)
            return None
    return key


def judge_results(results: dict[str, Any], settings: Any, progress: bool = True) -> dict[str, Any]:
    """Judge every model's generation answers against the first model's (the reference column)."""
    labels = list(results["models"])
    reference_label = labels[0]
    judge = Judge(settings.base_url, settings.model, judge_api_key(settings.base_url, settings.api_key_env), settings.template,
                  timeout=settings.timeout)
    summary: dict[str, Any] = {}
    details: dict[str, Any] = {}
    try:
        for task, entry in results["tasks"].items():
            if entry["kind"] != "generation":
                continue
            base_examples = entry["examples"][reference_label][: settings.max_examples]
            for label in labels[1:]:
                pairs = list(zip(entry["examples"][label][: settings.max_examples], base_examples))
                if progress:
                    from tqdm.auto import tqdm

                    pairs = tqdm(pairs, desc=f"judge {label} vs {reference_label}", leave=False)
                outcomes = []
                for mine, theirs in pairs:
                    o = judge.compare(mine["prompt"], mine["prediction"], theirs["prediction"], mine.get("reference"))
                    outcomes.append({"id": mine.get("id"), "question": mine["prompt"], **o})
                key = f"{task}: {label} vs {reference_label}"
                summary[key] = summarise(outcomes)
                details[key] = outcomes
    finally:
        judge.close()
    return {"base_url": settings.base_url, "model": settings.model, "summary": summary, "details": details}
