"""A tiny document model rendered both as Markdown and as standalone HTML (report.md / report.html)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    path: str  # relative to the report's folder
    caption: str


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    code: list[str] = field(default_factory=list)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def to_markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for p in s.paragraphs:
            out += [p, ""]
        for t in s.tables:
            out.append("| " + " | ".join(_md_cell(h) for h in t.headers) + " |")
            out.append("|" + "|".join("---" for _ in t.headers) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
            out.append("")
        for c in s.code:
            out += ["```", c, "```", ""]
        for im in s.images:
            out += [f"![{im.caption}]({im.path})", ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}img{max-width:100%;border:1px solid #eee;margin:.5em 0}pre{background:#f7f7f7;padding:.8em;overflow:auto}
figure{margin:1em 0}figcaption{color:#666;font-size:.9em}"""


def to_html(title: str, sections: list[Section]) -> str:
    e = html.escape
    out = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(title)}</h1>"]
    for s in sections:
        out.append(f"<h2>{e(s.title)}</h2>")
        out += [f"<p>{e(p)}</p>" for p in s.paragraphs]
        for t in s.tables:
            out.append("<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in t.headers) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(str(c)).replace(chr(10), '<br>')}</td>" for c in row) + "</tr>" for row in t.rows]
            out.append("</table>")
        out += [f"<pre>{e(c)}</pre>" for c in s.code]
        out += [f"<figure><img src='{e(im.path)}' alt='{e(im.caption)}'><figcaption>{e(im.caption)}</figcaption></figure>" for im in s.images]
    out.append("</body></html>")
    return "\n".join(out)
