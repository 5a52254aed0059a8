"""What the toolkit knows about one language: one `Language` object, registered once (see `langadapt.languages`).

    Language("th", "Thai", scripts=(THAI,), preset=THAI_PRESET, udhr_default=True, greeting="สวัสดี")

Every field but the tag and the name is optional: a language known only by name is still named on
model cards; one with a script gets script-share checks and evaluation units; one with a preset gets
its own clean steps. A preset names its script instead of holding it: presets are recorded by name
in the clean stage's stats, and two languages sharing a preset (Tibetan, Dzongkha) share one object.
"""

from __future__ import annotations

from dataclasses import dataclass

from langadapt.languages.script import Script


@dataclass(frozen=True)
class Preset:
    """Which clean normalisers and filters run on a corpus, in which order, checking which script."""

    name: str
    normalizers: tuple[str, ...]
    filters: tuple[str, ...]
    script: str | None = None
    min_script_share: float | None = None
    max_simplified_share: float | None = None


BASIC_STEPS = ("nfc", "controls", "whitespace")
# Applied to corpora of languages that bring no preset of their own: nothing script-specific.
GENERIC = Preset("generic", BASIC_STEPS, ("length", "repetition", "tokens"))


@dataclass(frozen=True)
class Language:
    tag: str
    """BCP 47 tag as recipes write it: `zh-Hant`, `bo`, `th`."""
    name: str
    """English name for model cards and translation prompts."""
    scripts: tuple[Script, ...] = ()
    """The first is the script its text is checked for (clean's script filter, generated-data checks);
    all of them are split into evaluation units their own way (Japanese: Han and kana)."""
    preset: Preset | None = None
    """Clean preset for its corpora; None: the generic one."""
    iso639: str = ""
    """Code for the Hub card's `language:` field; default: the tag's primary subtag."""
    aliases: tuple[str, ...] = ()
    """Other tags that mean this language to the toolkit (`zh-TW` is cleaned as `zh-Hant`)."""
    script_subtag: str = ""
    """Corpora whose tag carries this script subtag take this language's preset whatever their
    primary language (`yue-Hant` is written in the characters the zh-Hant preset cleans)."""
    udhr: str = ""
    """File of its translation in the fetched UDHR (`langadapt data fetch udhr`); default: the tag."""
    udhr_default: bool = False
    """Scored by the UDHR tasks when no languages are given."""
    greeting: str = ""
    """Prompt in the usage snippet of a model card."""
    sample_text: str = ""
    """One sentence for a quick look at a tokenizer's coverage (tokens per character)."""
    continue_instruction: str = ""
    """Instruction of continuation SFT records, in the language itself."""

    @property
    def script(self) -> Script | None:
        return self.scripts[0] if self.scripts else None

    @property
    def hub_code(self) -> str:
        return self.iso639 or self.tag.replace("_", "-").split("-")[0].lower()

    @property
    def udhr_file(self) -> str:
        return self.udhr or self.tag
