"""The JSON examples of ONCOR's API docs, read out of `shared/oncor-api-doc/methods/**/index.md`."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = Path(os.environ.get("ONCOR_API_DOC", REPO.parent / "shared" / "oncor-api-doc"))

_BLOCK = re.compile(r"```json\s*\n(.*?)```", re.S)
_GET_LINE = re.compile(r"GET `?https?://[^/\s]+/api/1\.0/json/(\S+?)(?: HTTP/1\.1)?`", re.S)


@dataclass(frozen=True)
class Example:
    page: str  # e.g. "tm66/order/addRcTm66OrderConclusion"
    body: Any

    @property
    def is_response(self) -> bool:
        return isinstance(self.body, dict) and ("result" in self.body or "error" in self.body)


def _strip_comments(text: str) -> str:
    """The docs elide long lists with `//...` lines, which JSON does not allow."""
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))


def method_page(page: str) -> str:
    """A method's doc page; a test that needs one is skipped where the docs are not beside us."""
    if not DOCS.is_dir():
        pytest.skip(f"ONCOR API docs not found at {DOCS}")
    return (DOCS / "methods" / page / "index.md").read_text(encoding="utf-8")


def json_examples(page: str) -> tuple[list[Example], list[str]]:
    """Every JSON block on a method page, and the blocks that are not JSON at all."""
    examples, unreadable = [], []
    for block in _BLOCK.findall(method_page(page)):
        try:
            examples.append(Example(page, json.loads(_strip_comments(block))))
        except json.JSONDecodeError:
            unreadable.append(block)
    return examples, unreadable


def get_requests(page: str) -> list[str]:
    """The documented GET request targets on a page, e.g. `patient/get?id=65:33650`."""
    return _GET_LINE.findall(method_page(page))
