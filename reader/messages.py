"""Messages that widgets and workers post upward (attributes down, messages up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class ModelStatus(Message):
    """The model worker's progress, shown in the status line."""

    text: str


@dataclass
class ModelReady(Message):
    """The model loaded; ``extractor`` predicts from now on."""

    extractor: Any


@dataclass
class DocumentsPredicted(Message):
    """The model worker stored predictions for these documents."""

    doc_ids: list[str]
