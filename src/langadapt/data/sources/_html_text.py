"""Prose blocks out of HTML documentation, markup stripped with the standard library's parser.

Used by the Debian documentation sources (`langadapt data fetch zh-tw-prose` / `dz-text`). Preformatted
blocks are dropped whole; inline code stays in its sentence but a block that is mostly code
(a command line with a word of comment) is dropped, since it would teach commands, not the language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from langadapt.languages import HAN, LATIN, TIBETAN

BLOCK_TAGS = {"p", "li", "dd", "dt", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "caption", "blockquote"}
HEADINGS = {"h1", "h2", "h3", "h4"}
SKIP_TAGS = {"pre", "script", "style", "head", "noscript", "nav", "aside", "button", "input", "label",
             "screen", "programlisting"}
CODE_TAGS = {"code", "kbd", "tt", "samp", "var"}
VOID_TAGS = {"br", "img", "meta", "link", "input", "hr", "col", "area", "base", "wbr", "source"}

# The registry's scripts (`langadapt.languages`), so a block is prose in the script the clean stage checks.
SCRIPTS = {s.name.lower(): re.compile(f"[{s.char_class}]") for s in (HAN, TIBETAN, LATIN)}


@dataclass
class Block:
    tag: str
    text: str
    anchor: str | None = None
    code_chars: int = 0

    @property
    def is_heading(self) -> bool:
        return self.tag in HEADINGS


@dataclass
class _State:
    tag: str
    parts: list[str] = field(default_factory=list)
    code_chars: int = 0
    anchor: str | None = None


class BlockParser(HTMLParser):
    """Collects the text of block elements; nested blocks (a <p> inside an <li>) each become one block."""

    def __init__(self, root_id: str | None = None, skip_classes: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._root_id = root_id
        self._skip_classes = skip_classes
        self._in_root = root_id is None
        self._root_depth = 0
        self._skip = 0
        self._skip_at: list[int] = []  # depths of the elements being skipped
        self._code = 0
        self._stack: list[_State] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in VOID_TAGS:
            if tag == "br" and self._stack:
                self._stack[-1].parts.append(" ")
            return
        self._depth += 1
        if not self._in_root:
            if a.get("id") == self._root_id:
                self._in_root, self._root_depth = True, self._depth
            return
        if tag in SKIP_TAGS or (self._skip_classes and set((a.get("class") or "").split()) & self._skip_classes):
            self._skip_at.append(self._depth)
            self._skip += 1
        elif tag in CODE_TAGS:
            self._code += 1
        elif tag in BLOCK_TAGS:
            self._close_open_block()
            self._stack.append(_State(tag, anchor=a.get("id")))
        anchor = a.get("id") or a.get("name")
        if anchor and self._stack and not self._stack[-1].anchor:
            self._stack[-1].anchor = anchor

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        if self._in_root:
            if self._skip_at and self._skip_at[-1] == self._depth:
                self._skip_at.pop()
                self._skip -= 1
            elif tag in CODE_TAGS:
                self._code = max(0, self._code - 1)
            elif tag in BLOCK_TAGS and any(st.tag == tag for st in self._stack):
                # also closes blocks left open inside it (`<li><p>text</li>`)
                while True:
                    state = self._stack.pop()
                    self._emit(state)
                    if state.tag == tag:
                        break
            if self._root_id is not None and self._depth == self._root_depth:
                self._close_open_block()
                self._in_root = False
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._in_root or self._skip or not self._stack:
            return
        self._stack[-1].parts.append(data)
        if self._code:
            self._stack[-1].code_chars += len(data.strip())

    def close(self) -> None:
        super().close()
        while self._stack:
            self._emit(self._stack.pop())

    def _close_open_block(self) -> None:
        # text already gathered by an enclosing block (the "1." of an <li> before its <p>) is its own block
        if self._stack and "".join(self._stack[-1].parts).strip():
            top = self._stack[-1]
            self._emit(_State(top.tag, top.parts, top.code_chars, top.anchor))
            top.parts, top.code_chars = [], 0

    def _emit(self, state: _State) -> None:
        text = " ".join("".join(state.parts).split())
        if text:
            self.blocks.append(Block(state.tag, text, state.anchor, state.code_chars))


def html_blocks(html: str, root_id: str | None = None, skip_classes: frozenset[str] = frozenset()) -> list[Block]:
    """Blocks of `html` (only inside the element with id `root_id` when given), leaving out elements
    with one of `skip_classes` (tables of contents, navigation bars)."""
    parser = BlockParser(root_id, skip_classes)
    parser.feed(html)
    parser.close()
    return parser.blocks


def script_share(text: str, script: str) -> float:
    """Share of the non-space characters of `text` that are in `script` ("han" or "tibetan")."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return len(SCRIPTS[script].findall(text)) / len(chars)


def is_prose(block: Block, script: str, min_share: float, min_script_chars: int) -> bool:
    """A block written mainly in `script`, not mostly code."""
    if block.code_chars > 0.5 * len(block.text.replace(" ", "")):
        return False
    return (len(SCRIPTS[script].findall(block.text)) >= min_script_chars
            and script_share(block.text, script) >= min_share)
