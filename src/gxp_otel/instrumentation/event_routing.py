"""Which stream events are recorded, and which category logger gets a readable line for each.

`EventFilter` keeps an event type when it is in `include` (or `include` is empty) and not in `exclude`; names are
event class names (`GAMPCategorizationEvent`). `EventRouter` classifies a type into one of the old design's
categories by keyword (categorization, planning, agents, validation, else workflow) and writes one INFO line to
the Python logger `<prefix>.<category>` (default prefix `gxp_otel.events`). Those lines are marked so the logging
bridge does not send them to OTel a second time: the stream event itself is already a log record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson

CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "categorization": ("categor", "gamp"),
    "planning": ("plan",),
    "agents": ("agent", "worker"),
    "validation": ("validat", "approv", "review", "inputrequired", "humanresponse"),
}
GXP_EVENT_LINE = "gxp_event_line"  # LogRecord attribute marking a routed line


class EventFilter:
    def __init__(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> None:
        self.include = frozenset(include)
        self.exclude = frozenset(exclude)

    def allows(self, event_type: str) -> bool:
        if event_type in self.exclude:
            return False
        return not self.include or event_type in self.include


def classify(event_type: str) -> str:
    """The category of an event type: the first category whose keyword occurs in the lower-cased name."""
    lowered = event_type.lower()
    for category, keywords in CATEGORY_KEYWORDS.items():
        if any(k in lowered for k in keywords):
            return category
    return "workflow"


class EventRouter:
    """Writes `<event type> run=<id> step=<name> [<message>] <payload, cut to 200 chars>` to the category logger."""

    def __init__(self, prefix: str = "gxp_otel.events", level: int = logging.INFO) -> None:
        self.prefix = prefix
        self.level = level
        self._loggers: dict[str, logging.Logger] = {}
        self._categories: dict[str, str] = {}

    def route(self, event_type: str, attributes: dict[str, Any], payload: Any, payload_text: str) -> None:
        """One line: `<type> run=<id> step=<name> <message> <payload>`; never raises (logging swallows errors)."""
        category = self._categories.get(event_type)
        if category is None:
            category = self._categories[event_type] = classify(event_type)
        logger = self._loggers.get(category)
        if logger is None:
            logger = self._loggers[category] = logging.getLogger(f"{self.prefix}.{category}")
        if not logger.isEnabledFor(self.level):
            return
        message = ""
        if isinstance(payload, dict) and isinstance(payload.get("message"), str):  # a GxpWorkflowEvent
            message = payload["message"] + " "
            inner = payload.get("payload")
            payload_text = orjson.dumps(inner).decode() if inner is not None else ""
        text = payload_text if len(payload_text) <= 200 else payload_text[:199] + "…"
        logger.log(
            self.level,
            "%s run=%s step=%s %s%s",
            event_type,
            attributes.get("gxp.workflow.run_id") or current_run_id() or "-",
            attributes.get("gxp.step.name", "-"),
            message,
            text,
            extra={GXP_EVENT_LINE: True},
        )


def current_run_id() -> str | None:
    try:
        from workflows.plugins.basic import get_current_run_id

        return get_current_run_id()
    except Exception:
        return None
