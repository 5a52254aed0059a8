"""The model card (README.md) of an export, written from the run's manifests rather than by hand.

    text = render(CardInputs(name="demo", base_model="smollm2-135m-instruct", manifests=RunDir(root).manifests(), ...))

Sections follow the seed cards users write today (description, change log, details, how to use,
training data, preprocessing, tokenizer, hyperparameters, speeds, evaluation, environmental impact,
limitations); a section the run has no data for is left out instead of saying "more information needed".
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from langadapt.export import card_eval as ev
from langadapt.export import card_hub as hub
from langadapt.export import card_training as tr
from langadapt.export.card_format import bullets, num, size
from langadapt.languages import find as find_language
from langadapt.stages import stage_metrics
from langadapt.train import methods


IMAGE_OUTPUTS = ("clean.histogram", "tokenizer.chart", "pretrain.loss_curve", "sft.loss_curve", "eval.plot")


@dataclass
class CardInputs:
    name: str
    base_model: str
    manifests: dict
    folder: Path
    base_model_id: str | None = None
    description: str = ""
    license: str | None = None
    languages: list[str] = field(default_factory=list)
    base_language: str = "en"
    corpora: list = field(default_factory=list)
    export: dict = field(default_factory=dict)
    """{"merged", "dtype", "info": {...}, "verification": {...}}"""
    changelog: list[dict] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)
    repo_id: str | None = None
    energy: dict | None = None
    generation: dict = field(default_factory=dict)


def copy_images(manifests: dict, folder: Path) -> dict[str, str]:
    """Copy the run's charts into `folder/images/` and return `stage.output` -> path relative to the card."""
    found = {}
    for key in IMAGE_OUTPUTS:
        stage, output = key.split(".")
        src = ((manifests.get(stage) or {}).get("outputs") or {}).get(output)
        if tr.exists(src):
            dest = folder / "images" / f"{stage}-{Path(src).name}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
            found[key] = dest.relative_to(folder).as_posix()
    return found


def summary(manifests: dict, languages: list[str], export: dict) -> str:
    """One line of what the run did, for the change log and the description."""
    parts = []
    tok = stage_metrics(manifests, "tokenizer")
    if tok and tok.added_tokens:
        parts.append(f"tokenizer extended by {num(tok.added_tokens)} pieces")
    for stage, title in tr.TRAIN_STAGES.items():
        m = stage_metrics(manifests, stage)
        if m is not None:
            method = methods.label(m.method)
            detail = ", ".join(x for x in (method, f"{num(m.global_step)} steps" if m.global_step is not None else "",
                                            f"train loss {num(m.train_loss)}" if m.train_loss is not None else "") if x)
            parts.append(f"{title.lower()}" + (f" ({detail})" if detail else ""))
    if export.get("merged"):
        parts.append("LoRA merged into the weights")
    langs = ", ".join(languages)
    head = f"Adapted to {langs}: " if langs else ""
    return (head + "; ".join(parts) + ".") if parts else f"Exported as {export.get('dtype', 'safetensors')}."


def lineage(inp: CardInputs) -> hub.BaseLineage:
    return hub.base_lineage(inp.base_model, inp.base_model_id)


def languages(inp: CardInputs) -> hub.HubLanguages:
    return hub.hub_languages(list(dict.fromkeys(inp.languages + ([inp.base_language] if inp.base_language else []))))


def front_matter(inp: CardInputs) -> str:
    tags = ["langadapt", "text-generation"]
    if "pretrain" in inp.manifests:
        tags.append("continual-pretraining")
    if "sft" in inp.manifests:
        tags.append("instruction-tuning")
    used = [methods.find(m.method) for s in tr.TRAIN_STAGES if (m := stage_metrics(inp.manifests, s))]
    tags += sorted({m.card_tag for m in used if m is not None and m.card_tag})
    if (tok := stage_metrics(inp.manifests, "tokenizer")) and tok.added_tokens:
        tags.append("vocabulary-extension")
    data: dict[str, Any] = {"library_name": "peft" if inp.export.get("format") == "peft-adapter" else "transformers"}
    if inp.license:
        data["license"] = inp.license
    base = lineage(inp)
    if base.hub_id:  # a local path here would break the Hub's model tree; the text names it instead
        data["base_model"] = base.hub_id
        trained = any(s in inp.manifests for s in tr.TRAIN_STAGES)
        data["base_model_relation"] = hub.base_relation(inp.export.get("format"), trained)
    sft_data = tr.stage_config(inp.manifests, "sft").get("datasets") or []
    datasets = hub.hub_dataset_ids(inp.corpora, sft_data)  # other sources: package, version, license in the text
    if datasets:
        data["datasets"] = datasets
    langs = languages(inp)
    if langs.codes:
        data["language"] = langs.codes
    data["tags"] = tags + [t for t in langs.tags if t not in tags]
    data["pipeline_tag"] = "text-generation"
    index = ev.model_index(inp.name, inp.manifests)
    if index:
        data["model-index"] = index
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n"


def header(inp: CardInputs) -> list[str]:
    lines = [f"# {inp.name}", ""]
    if inp.description:
        lines += [inp.description.strip(), ""]
    up = lineage(inp)
    base = f"[{up.hub_id}](https://huggingface.co/{up.hub_id})" if up.hub_id and not up.chain else f"`{inp.base_model}`"
    lines += [f"Built from {base} with langadapt. {summary(inp.manifests, inp.languages, inp.export)}", ""]
    return lines


def change_log(entries: list[dict]) -> list[str]:
    if not entries:
        return []
    lines = ["## Model change log", "", "| Update date | Model version | Key changes |", "|---|---|---|"]
    lines += [f"| {e.get('date', '')} | v{e['version']} | {str(e.get('changes', '')).replace('|', '/')} |" for e in entries]
    return lines + [""]


def details(inp: CardInputs) -> list[str]:
    info = inp.export.get("info") or {}
    weights = None
    if info.get("weights_bytes"):
        shards = f", {info['shards']} shard(s)" if info.get("shards") else ""
        weights = f"{info.get('format', '')} {info.get('dtype', '')}, {size(info['weights_bytes'])}{shards}".strip()
    lines = ["## Model details", ""]
    lines += bullets([
        ("Model type", info.get("architecture")),
        ("Language(s)", ", ".join(hub.hub_languages(inp.languages).described) if inp.languages else None),
        ("License", inp.license),
        ("Adapted from model", inp.base_model_id or inp.base_model),
        ("Hub base model", lineage(inp).hub_id if lineage(inp).chain else None),
        ("Parameters", info.get("num_parameters")),
        ("Vocabulary", info.get("vocab_size")),
        ("Embedding rows", info.get("embedding_rows") if info.get("embedding_rows") != info.get("vocab_size") else None),
        ("Weights", weights),
        ("Adapter", f"{info['peft_type']} r={info.get('r')} alpha={info.get('lora_alpha')}" if info.get("peft_type") else None),
    ])
    return lines + [""] + hub.lineage_lines(inp.base_model, lineage(inp))


def sample_prompt(languages: list[str]) -> str:
    """The first language's greeting in the languages registry (`Language.greeting`), for the usage snippet."""
    for lang in languages:
        found = find_language(lang)
        if found and found.greeting:
            return found.greeting
    return "Hello"


def usage(inp: CardInputs) -> list[str]:
    prompt = sample_prompt(inp.languages)
    ref = inp.repo_id or str(inp.folder.resolve())
    gen = ", ".join(f"{k}={v!r}" for k, v in inp.generation.items()) or "max_new_tokens=128"
    lines = ["## How to use", "", "### Transformers", "", "```python"]
    if inp.export.get("format") == "peft-adapter":
        lines += ["from peft import AutoPeftModelForCausalLM", "from transformers import AutoTokenizer", "",
                  f'model = AutoPeftModelForCausalLM.from_pretrained("{ref}")',
                  f'tokenizer = AutoTokenizer.from_pretrained("{ref}")',
                  "model.resize_token_embeddings(len(tokenizer))  # when the adapter extends the vocabulary"]
    else:
        lines += ["from transformers import AutoModelForCausalLM, AutoTokenizer", "",
                  f'model = AutoModelForCausalLM.from_pretrained("{ref}")',
                  f'tokenizer = AutoTokenizer.from_pretrained("{ref}")']
    if (inp.folder / "chat_template.jinja").is_file() or "chat_template" in _tokenizer_config(inp.folder):
        lines += [f'messages = [{{"role": "user", "content": "{prompt}"}}]',
                  "inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\", return_dict=True)"]
    else:
        lines += [f'inputs = tokenizer("{prompt}", return_tensors="pt")']
    lines += [f"output = model.generate(**inputs, {gen})",
              "print(tokenizer.decode(output[0][inputs[\"input_ids\"].shape[1]:], skip_special_tokens=True))", "```", ""]
    if inp.export.get("format") != "peft-adapter":
        lines += ["### vLLM", "", "```bash", f"vllm serve {ref}", "```", ""]
        if (inp.export.get("info") or {}).get("added_tokens"):
            lines += ["The merged checkpoint carries the extended vocabulary in its weights, so vLLM serves it as is "
                      "(vLLM cannot load LoRA adapters that change the embeddings).", ""]
    gguf = inp.export.get("gguf")
    if gguf:
        lines += ["### llama.cpp, Ollama, LM Studio", "",
                  f"`{gguf['path']}` ({gguf['gguf_type']}, {gguf['bytes'] / 2**20:.0f} MiB, pre-tokenizer "
                  f"`{gguf.get('pre_tokenizer') or 'default'}`) holds the same model in one file:", "",
                  "```bash", f"llama-cli -m {gguf['path']} -cnv", f"llama-server -m {gguf['path']}   # OpenAI-compatible, 127.0.0.1:8080",
                  "```", ""]
        if (gguf.get("verification") or {}).get("max_relative_diff") is not None:
            ver = gguf["verification"]
            lines += [f"Read back through transformers' GGUF loader, its logits differ from the exported weights by at "
                      f"most {ver['max_relative_diff']:.2g} of the largest logit.", ""]
    lines += ["### langadapt", "", "```bash", f"langadapt chat {ref}", f"langadapt serve {ref}   # OpenAI-compatible API on 127.0.0.1",
              "```", ""]
    return lines


def _tokenizer_config(folder: Path) -> dict:
    path = folder / "tokenizer_config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        return {}


def verification(export: dict) -> list[str]:
    ver = export.get("verification") or {}
    if not ver:
        return []
    lines = ["## Export check", "", "Logits of the exported weights against the base model with the adapter applied, "
             "on held-out texts:", ""]
    for what, r in ver.items():
        lines.append(f"- **{what}** ({r['dtype']}): max |difference| {r['max_abs_diff']:.3g}, "
                     f"{r['relative_diff']:.2g} of the largest logit (tolerance {r['tolerance']:g}); top-1 token agreement {r['top1_agreement']:.1%} "
                     f"over {num(r['tokens'])} tokens")
    return lines + [""]


def render(inp: CardInputs) -> str:
    training = (tr.preprocessing(inp.manifests) + tr.tokenizer(inp.manifests) + tr.hyperparameters(inp.manifests)
                + tr.speeds(inp.manifests) + tr.loss_curves(inp.images))
    body = header(inp) + change_log(inp.changelog) + details(inp) + usage(inp)
    body += tr.training_data(inp.corpora, inp.manifests)
    if training:
        body += ["## Training procedure", ""] + training
    body += ev.evaluation(inp.manifests, inp.images)
    body += ev.environment(inp.manifests, inp.energy)
    body += verification(inp.export)
    body += ev.limitations(inp.manifests, inp.languages, inp.base_language, inp.base_model_id or inp.base_model)
    body += ev.framework_versions(inp.manifests)
    return front_matter(inp) + "\n" + "\n".join(body).rstrip() + "\n"
