"""The languages registry: every place that needs to know a language asks here.

    from langadapt import languages
    languages.find("zh-TW").name             # 'Traditional Chinese' (BCP 47 fallback: zh-Hant-TW -> zh-Hant)
    languages.preset_for("yue-Hant").name    # 'zh-Hant': the clean preset of its corpora
    languages.script("Han").char_class       # the one definition of Han (clean filters, CJK rules, eval units)
    languages.udhr_defaults()                # ['en', 'zh-Hant', 'bo', 'dz', 'th']

    from langadapt.languages import Language, Preset, Script
    from langadapt.languages.script import clusters
    khmer = Language("km", "Khmer", (Script("Khmer", ((0x1780, 0x17FF),), units=clusters),),
                     Preset("km", ("nfc", "controls", "whitespace"), ("length", "script"), "Khmer", 0.5))
    languages.register(khmer, replace=True)  # or, for a while: `with languages.registered(khmer): ...`

Adding a language is one `Language` object (see `language.py`; the shipped ones are in `builtin.py`):
its script ranges feed the clean stage's script filter and the ROUGE-L unit splitter, its preset the
clean stage (and the `clean.preset` choices), its name and ISO 639 code the model card, its UDHR file
the UDHR tasks, its greeting and sample sentences the card and `langadapt info`. Keeping all of it
on one object is what keeps the readers consistent: the cleaner and the evaluation splitter share
one Han, the card and the evaluation prompts one name, and no reader knows a language another lacks.

Lookups are live: a language registered at run time is seen at once by every reader, except the
`clean.preset` choices, which the recipe model fixes when it is imported (a later language's corpora
still get its preset through their `language`).
"""

from __future__ import annotations

import bisect
import contextlib
from typing import Iterator

from langadapt.errors import UserError
from langadapt.languages.builtin import BUILTIN
from langadapt.languages.language import GENERIC, Language, Preset
from langadapt.languages.script import HAN, KANA, LATIN, THAI, TIBETAN, Script

__all__ = ["Language", "Preset", "Script", "GENERIC", "HAN", "KANA", "LATIN", "THAI", "TIBETAN",
           "register", "registered", "get", "find", "all_languages", "script", "scripts", "presets",
           "preset_names", "preset_for", "unit_script", "udhr_defaults", "udhr_file", "name_of", "sample_texts"]

# English leads the default UDHR languages (the udhr-translate task translates from it) and the sample texts.
TRANSLATION_SOURCE = "en"

_languages: dict[str, Language] = {}  # lower-cased tag -> language, in registration order
_derived: dict[str, object] = {}  # lookup tables built from _languages, dropped on every change


def _key(tag: str) -> str:
    return tag.replace("_", "-").lower()


def _changed() -> None:
    _derived.clear()


def _check(language: Language, others: list[Language]) -> None:
    if not language.tag or not language.name:
        raise UserError(f"language {language!r} needs a tag and a name")
    taken = {_key(a): o.tag for o in others for a in (o.tag, *o.aliases)}
    for alias in (language.tag, *language.aliases):
        if _key(alias) in taken:
            raise UserError(f"language {language.tag}: tag {alias!r} already means {taken[_key(alias)]}")
    known_scripts = {s.name: s for o in others for s in o.scripts}
    for s in language.scripts:
        if known_scripts.get(s.name, s) != s:
            raise UserError(f"language {language.tag}: script {s.name!r} is already defined differently; "
                            f"use languages.script({s.name!r})")
        # A code point belongs to one script, or the unit splitter could not tell which rules apply.
        for other in known_scripts.values():
            if other.name != s.name and any(lo <= ohi and olo <= hi for lo, hi in s.ranges for olo, ohi in other.ranges):
                raise UserError(f"language {language.tag}: script {s.name!r} overlaps script {other.name!r}")
    if language.script_subtag and language.preset is None:
        raise UserError(f"language {language.tag}: a script subtag claims a preset, so it needs one")
    known_presets = {o.preset.name: o.preset for o in others if o.preset}
    known_presets[GENERIC.name] = GENERIC
    preset = language.preset
    if preset is not None:
        if known_presets.get(preset.name, preset) != preset:
            raise UserError(f"language {language.tag}: preset {preset.name!r} is already defined differently")
        script_names = {s.name for s in language.scripts} | set(known_scripts)
        if preset.script is not None and preset.script not in script_names:
            raise UserError(f"language {language.tag}: preset {preset.name!r} checks script {preset.script!r}, "
                            f"which no registered language is written in")


def register(language: Language, *, replace: bool = False) -> Language:
    """Add `language`; with `replace`, it takes the place of a registered language of the same tag."""
    others = [o for k, o in _languages.items() if not (replace and k == _key(language.tag))]
    _check(language, others)
    _languages[_key(language.tag)] = language
    _changed()
    return language


@contextlib.contextmanager
def registered(*extra: Language) -> Iterator[None]:
    """Register `extra` (replacing languages of the same tags) for the `with` block, then restore the registry."""
    saved = dict(_languages)
    try:
        for language in extra:
            register(language, replace=True)
        yield
    finally:
        _languages.clear()
        _languages.update(saved)
        _changed()


def all_languages() -> list[Language]:
    return list(_languages.values())


def get(tag: str | None) -> Language | None:
    """The language registered under exactly this tag (any case), or None."""
    return _languages.get(_key(tag)) if tag else None


def _table(name: str, build) -> object:
    if name not in _derived:
        _derived[name] = build()
    return _derived[name]


def _aliases() -> dict[str, Language]:
    return _table("aliases", lambda: {_key(a): lang for lang in _languages.values() for a in (lang.tag, *lang.aliases)})


def find(tag: str | None) -> Language | None:
    """The registered language a BCP 47 tag means: its exact tag or an alias, else the tag with its
    last subtag dropped, and so on (`zh-Hant-TW` -> zh-Hant, `en-US` -> en); None when nothing matches."""
    table = _aliases()
    key = _key(tag) if tag else ""
    while key:
        if key in table:
            return table[key]
        key = key.rpartition("-")[0]
    return None


def name_of(tag: str) -> str:
    language = find(tag)
    return language.name if language else tag


def scripts() -> dict[str, Script]:
    """Every script a registered language is written in, by name."""
    return dict(_table("scripts", lambda: {s.name: s for lang in _languages.values() for s in lang.scripts}))


def script(name: str) -> Script:
    found = scripts()
    if name not in found:
        raise UserError(f"unknown script {name!r}; known: {', '.join(found)}")
    return found[name]


def presets() -> dict[str, Preset]:
    """Clean presets by name, in the order their languages were registered, `generic` last."""
    def build() -> dict[str, Preset]:
        out = {lang.preset.name: lang.preset for lang in _languages.values() if lang.preset}
        return {**out, GENERIC.name: GENERIC}

    return dict(_table("presets", build))


def preset_names() -> list[str]:
    return list(presets())


def preset_for(tag: str | None) -> Preset:
    """The clean preset for corpora in this language: that of the nearest registered language that
    has one, where a registered script subtag counts first (`yue-Hant` -> zh-Hant); else `generic`."""
    table = _aliases()
    by_subtag = _table("subtags", lambda: {lang.script_subtag.lower(): lang for lang in _languages.values()
                                           if lang.script_subtag})
    key = _key(tag) if tag else ""
    while key:
        found = table.get(key)
        if found and found.preset:
            return found.preset
        for sub in key.split("-")[1:]:
            if sub in by_subtag:
                return by_subtag[sub].preset  # type: ignore[return-value]
        key = key.rpartition("-")[0]
    return GENERIC


def unit_script(ch: str) -> Script | None:
    """The registered script with its own evaluation units that holds `ch`, or None (words)."""
    def build() -> tuple[list[int], list[tuple[int, Script]]]:
        spans = sorted((lo, hi, s) for s in scripts().values() if s.units is not None for lo, hi in s.ranges)
        return [lo for lo, _, _ in spans], [(hi, s) for _, hi, s in spans]

    starts, ends = _table("units", build)
    cp = ord(ch)
    at = bisect.bisect_right(starts, cp) - 1
    if at >= 0 and cp <= ends[at][0]:
        return ends[at][1]
    return None


def udhr_defaults() -> list[str]:
    tags = [lang.tag for lang in _languages.values() if lang.udhr_default]
    return sorted(tags, key=lambda t: t != TRANSLATION_SOURCE)


def udhr_file(tag: str) -> str:
    """Stem of the fetched UDHR file for a language tag; an unregistered tag names its file itself."""
    language = get(tag)
    return language.udhr_file if language else tag


def sample_texts() -> dict[str, str]:
    """One sentence per language for tokens-per-character checks, English (the usual base language) first."""
    tags = sorted((lang.tag for lang in _languages.values() if lang.sample_text), key=lambda t: t != TRANSLATION_SOURCE)
    return {tag: _languages[_key(tag)].sample_text for tag in tags}


for _language in BUILTIN:
    register(_language)
