"""Who did it: attribution of spans and log records to a user, an agent, a correlation id and a GAMP 5 context.

`attribution(...)` is a context manager over a `contextvars.ContextVar`, so it follows asyncio tasks and
`copy_context()`: a workflow started inside `with attribution(user_id="alice")` carries Alice's identity on every
span and log record of that run, while a concurrent run started under Bob's block carries Bob's. Nested blocks
inherit the outer values and override the ones they set.

Attribute keys (docs/audit-format.md §5.5 reads exactly these):

| argument         | attribute key          | convention                      |
|------------------|------------------------|---------------------------------|
| `user_id`        | `enduser.id`           | OpenTelemetry semantic convention |
| `agent_id`       | `gxp.agent.id`         | gxp namespace                   |
| `correlation_id` | `gxp.correlation.id`   | gxp namespace                   |
| `session_id`     | `session.id`           | OpenTelemetry (defaults to `correlation_id`; Phoenix groups sessions by it) |
| `gamp_category`  | `gxp.gamp.category`    | gxp namespace (int 1/3/4/5 or text) |
| `risk_level`     | `gxp.risk.level`       | gxp namespace                   |

The span and log processors that copy these onto every record live in
`gxp_otel.instrumentation.attribution_processors`; `instrument()` installs them.

Human decisions are attributed on the ANSWERING side, explicitly: `send_human_response(ctx, event,
responder="qa.reviewer")` sends a `HumanResponseEvent` into a run and declares who answered; the trail records it as
`gxp.hitl.action=human-response`, `gxp.hitl.responder=<responder>`, `gxp.hitl.decision=declared` (or `e-signed`
when the event's `signature` is the record reference `gxp_otel.sign(...)` returns). A `HumanResponseEvent` sent any
other way (`ctx.send_event(...)` from a step, a timer, a script) is recorded as `gxp.hitl.action=automated-response`, `gxp.hitl.decision=automated`,
with no responder: the identity in force is not taken for a person's answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

USER_ID = "enduser.id"
AGENT_ID = "gxp.agent.id"
CORRELATION_ID = "gxp.correlation.id"
SESSION_ID = "session.id"
GAMP_CATEGORY = "gxp.gamp.category"
RISK_LEVEL = "gxp.risk.level"
RUN_ID = "gxp.workflow.run_id"

_EMPTY: Mapping[str, Any] = MappingProxyType({})

# Defaults set by instrument(...); a block's own values override them.
_defaults: Mapping[str, Any] = _EMPTY
_current: ContextVar[Mapping[str, Any]] = ContextVar("gxp_otel_attribution", default=_EMPTY)
_responder: ContextVar[str | None] = ContextVar("gxp_otel_declared_responder", default=None)


def attribution_attributes(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    correlation_id: str | None = None,
    session_id: str | None = None,
    gamp_category: int | str | None = None,
    risk_level: str | None = None,
) -> dict[str, Any]:
    """The attribute map for these values; `None` means "not given" and produces no key."""
    attributes: dict[str, Any] = {}
    if user_id is not None:
        attributes[USER_ID] = str(user_id)
    if agent_id is not None:
        attributes[AGENT_ID] = str(agent_id)
    if correlation_id is not None:
        attributes[CORRELATION_ID] = str(correlation_id)
    if session_id is not None or correlation_id is not None:
        attributes[SESSION_ID] = str(session_id if session_id is not None else correlation_id)
    if gamp_category is not None:
        attributes[GAMP_CATEGORY] = gamp_category if isinstance(gamp_category, int) else str(gamp_category)
    if risk_level is not None:
        attributes[RISK_LEVEL] = str(risk_level)
    return attributes


@contextmanager
def attribution(
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    correlation_id: str | None = None,
    session_id: str | None = None,
    gamp_category: int | str | None = None,
    risk_level: str | None = None,
) -> Iterator[Mapping[str, Any]]:
    """Attribute every span and log record started inside the block; yields the attribute map in force.

    Guarantee: the values are restored on exit even if the block raises, and they never leak into another
    asyncio task or thread that did not copy this context.
    """
    own = attribution_attributes(
        user_id=user_id,
        agent_id=agent_id,
        correlation_id=correlation_id,
        session_id=session_id,
        gamp_category=gamp_category,
        risk_level=risk_level,
    )
    merged = MappingProxyType({**_current.get(), **own})
    token = _current.set(merged)
    try:
        yield merged
    finally:
        _current.reset(token)


def current_attributes() -> Mapping[str, Any]:
    """Defaults from `instrument()` overlaid with the innermost `attribution(...)` block (read-only)."""
    block = _current.get()
    if not _defaults:
        return block
    if not block:
        return _defaults
    return {**_defaults, **block}


def block_attributes() -> Mapping[str, Any]:
    """Only the values set by enclosing `attribution(...)` blocks (no defaults); used for propagation."""
    return _current.get()


def restore_block_attributes(attributes: Mapping[str, Any]) -> None:
    """Set the block values in the current context (used when a run resumes in another process or task).

    No reset token is kept: call this only in a context that ends with the run (the run's own task).
    """
    _current.set(MappingProxyType(dict(attributes)))


def set_default_attributes(attributes: Mapping[str, Any]) -> None:
    """Process-wide defaults (from `instrument(user_id=..., ...)`); an empty map clears them."""
    global _defaults
    _defaults = MappingProxyType(dict(attributes)) if attributes else _EMPTY


def send_human_response(ctx: Any, event: Any, *, responder: str) -> None:
    """Send `event` (a `HumanResponseEvent`) into the run behind `ctx` as the answer of the person `responder`.

    The one documented way to record a human decision: the instrumentation records the event with
    `gxp.hitl.action=human-response`, `gxp.hitl.responder` = `enduser.id` = `responder`. Raises ValueError for an
    empty responder (a human answer without a human is not recorded as one); otherwise exactly `ctx.send_event`.
    """
    if not isinstance(responder, str) or not responder.strip():
        raise ValueError("send_human_response needs the identity of the person who answered (responder=...)")
    token = _responder.set(responder)
    try:
        ctx.send_event(event)
    finally:
        _responder.reset(token)


def declared_responder() -> str | None:
    """The responder declared by an enclosing `send_human_response` call, else None."""
    return _responder.get()
