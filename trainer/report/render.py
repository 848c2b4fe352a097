"""The report as one self-contained HTML page (figures inlined as base64 PNG) and as Markdown beside PNG files."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

from trainer.collapse import CollapseConfig
from trainer.report.summary import COLUMNS

NOTES = (
    "Accuracies are validation accuracy in % (held-out prompts scored by the oracle). "
    "Initial = the model before training (step 0). Gain = peak − initial, in percentage points. "
    "Share of oracle gain = gain ÷ mean gain of the oracle runs of the same task. "
    "Steps to peak = steps from the first validation to the peak. "
    "Val drop step = the first step after the peak where validation accuracy is more than "
    f"{100 * CollapseConfig().val_margin:g} pp below it "
    "('none' = it never fell that far): it can fire long before reward accuracy collapses. "
    "Collapse step = the Model Collapse Step from collapse.json (reward accuracy's trailing mean below the "
    "threshold; 'recomputed' when the run had no collapse.json); 'none' = not collapsed. "
    "Aggregated rows give mean ± sample std over seeds."
)

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1240px;
       padding: 0 20px; color: #222; line-height: 1.45; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 4px; margin-top: 36px; }
.meta { color: #555; font-size: 14px; }
.warnings { background: #fff8e1; border: 1px solid #f0c36d; border-radius: 6px; padding: 8px 16px; font-size: 13.5px; }
.ok { background: #eef7ee; border: 1px solid #9c9; border-radius: 6px; padding: 8px 16px; font-size: 13.5px; }
figure { margin: 18px 0 28px; } figure img { width: 100%; height: auto; border: 1px solid #e4e4e4; border-radius: 4px; }
figcaption { color: #555; font-size: 13.5px; margin-top: 4px; }
table { border-collapse: collapse; font-size: 13.5px; width: 100%; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 5px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; position: sticky; top: 0; }
tr.agg td { font-weight: 600; background: #f7f9fc; border-bottom: 2px solid #cdd6e4; }
.notes { color: #555; font-size: 13px; } code { font-size: 12.5px; }
"""


@dataclass
class FigureOut:
    """One rendered figure: file name for the Markdown copy, title, caption and PNG bytes."""

    filename: str
    title: str
    caption: str
    png: bytes


@dataclass
class TaskSection:
    task: str
    figures: list[FigureOut]
    rows: list[tuple[bool, list[str]]]
    table_md: str


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def html_report(title: str, meta: Sequence[str], warnings: Sequence[str], sections: Sequence[TaskSection],
                runs: Sequence[str]) -> str:
    """The whole report page; it loads nothing from outside itself."""
    parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_esc(title)}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{_esc(title)}</h1>",
             "<p class='meta'>" + "<br>".join(_esc(m) for m in meta) + "</p>", _warnings_html(warnings)]
    for sec in sections:
        parts.append(f"<h2>Task: {_esc(sec.task)}</h2>")
        for fig in sec.figures:
            data = base64.b64encode(fig.png).decode("ascii")
            parts.append(f"<figure><img alt='{_esc(fig.title)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption><b>{_esc(fig.title)}.</b> {_esc(fig.caption)}</figcaption></figure>")
        parts.append(f"<h3>Runs — {_esc(sec.task)}</h3>" + _table_html(sec.rows) + f"<p class='notes'>{_esc(NOTES)}</p>")
    parts.append("<h2>Run directories</h2><ul>" + "".join(f"<li><code>{_esc(r)}</code></li>" for r in runs) + "</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _warnings_html(warnings: Sequence[str]) -> str:
    if not warnings:
        return "<div class='ok'>No warnings: every run directory was read completely.</div>"
    items = "".join(f"<li>{_esc(w)}</li>" for w in warnings)
    return f"<div class='warnings'><b>Warnings ({len(warnings)})</b><ul>{items}</ul></div>"


def _table_html(rows: Sequence[tuple[bool, list[str]]]) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in COLUMNS)
    body = "".join(f"<tr class='{'agg' if agg else 'run'}'>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>"
                   for agg, cells in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def markdown_report(title: str, meta: Sequence[str], warnings: Sequence[str], sections: Sequence[TaskSection],
                    runs: Sequence[str]) -> str:
    """The report as Markdown; figures are links to the PNG files written beside it."""
    lines = [f"# {title}", "", *[f"- {m}" for m in meta], "", "## Warnings", ""]
    lines += [f"- {w}" for w in warnings] or ["None: every run directory was read completely."]
    for sec in sections:
        lines += ["", f"## Task: {sec.task}", ""]
        for fig in sec.figures:
            lines += [f"![{fig.title}]({fig.filename})", "", f"*{fig.title}.* {fig.caption}", ""]
        lines += [f"### Runs — {sec.task}", "", sec.table_md, "", NOTES]
    lines += ["", "## Run directories", "", *[f"- `{r}`" for r in runs], ""]
    return "\n".join(lines)
