"""Plain-text rendering for the CLI: tables and the event detail."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from espf.circuit_breaker import breaker_threshold
from espf.clock import format_ms, ms_to_datetime
from espf.domain import Handler, HandlerFlow
from espf.rate_limits import burst_of
from espf.service import EventDetail

MASK = "********"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def handler_auth(handler: Handler) -> str:
    """How the handler authenticates, with every secret masked."""
    if handler.auth_method.value == "basic":
        return f"basic {handler.login}:{MASK}"
    if handler.auth_method.value == "custom":
        return f"custom {handler.auth_scheme} {MASK}"
    if handler.auth_method.value == "signature":
        return f"signature ({len(handler.signing_secrets)} secret(s) {MASK})"
    return "none"


def handler_table(handlers: Sequence[Handler]) -> str:
    return table(
        ["i_env", "name", "type", "enabled", "url", "auth", "header", "timeout"],
        [
            (
                h.i_env,
                h.name,
                h.kind,
                "yes" if h.enabled else "no",
                h.url,
                handler_auth(h),
                h.auth_header,
                f"{h.timeout_s:g}s",
            )
            for h in handlers
        ],
    )


def event_detail(detail: EventDetail) -> str:
    event = detail.event
    lines = [
        f"Event #{event.i_event}  {event.event_type}  (environment {event.i_env})",
        f"  state:      {event.state.value}",
        f"  start_time: {format_ms(event.start_at)} UTC",
    ]
    if event.time_zone is not None:
        lines.append(f"  asked for:  {event.local_start} {event.time_zone}")
    lines += [
        f"  created:    {format_ms(event.created_at)} UTC",
        f"  variables:  {orjson.dumps(event.variables).decode()}",
    ]
    if not detail.deliveries:
        lines.append("  deliveries: none yet")
    for delivery in detail.deliveries:
        lines.append(
            f"  delivery #{delivery.i_delivery} to {delivery.handler_name}: "
            f"{delivery.state.value}, {delivery.attempts} attempt(s)"
            + (
                f", next at {format_ms(delivery.next_at)} UTC"
                if delivery.next_at and not delivery.state.is_final
                else ""
            )
            + (f", waiting: {delivery.waiting}" if delivery.waiting else "")
        )
        for attempt in delivery.attempt_log:
            answer = (
                f"HTTP {attempt.status_code}" if attempt.status_code is not None else "no answer"
            )
            error = f": {attempt.error}" if attempt.error else ""
            lines.append(
                f"    attempt {attempt.attempt_no} at {format_ms(attempt.started_at)} UTC, "
                f"{attempt.duration_ms} ms, {answer} -> {attempt.outcome}{error}"
            )
    if detail.transitions:
        lines.append("  history:")
        for t in detail.transitions:
            who = f"delivery #{t.i_delivery}" if t.i_delivery is not None else "event"
            lines.append(f"    {fixed_width_time(t.at)} UTC  {who} -> {t.state}: {t.reason}")
    return "\n".join(lines)


def handler_detail(handler: Handler, flow: HandlerFlow | None = None) -> str:
    """Every setting of a handler, with its secrets masked, and its state."""
    tls = handler.tls
    ordered = f"by {handler.order_key or 'i_account, else i_customer'}" if handler.ordered else "no"
    auto_pause = (
        f"after {handler.auto_pause_after_s:g} s of failures"
        if handler.auto_pause_after_s
        else "service default"
    )
    state = "enabled" if handler.enabled else "disabled"
    if handler.paused:
        state += f", paused since {format_ms(handler.paused_at)} UTC: {handler.paused_reason}"
    lines = [
        f"Handler {handler.name} ({handler.kind}) in environment {handler.i_env}: {state}",
        f"  url:          {handler.url}",
        f"  auth:         {handler_auth(handler)} (header {handler.auth_header})",
        f"  timeout:      {handler.timeout_s:g} s",
        f"  ordered:      {ordered}",
        f"  retry:        {_retry_text(handler)}",
        f"  auto-pause:   {auto_pause}",
        f"  limits:       {_limits_text(handler, flow)}",
        f"  breaker:      {_breaker_text(handler, flow)}",
        f"  tls:          verify {'off' if tls.verify is False else 'on'}"
        + (f", CA {tls.ca_file}" if tls.ca_file else "")
        + (f", client certificate {tls.client_cert}" if tls.client_cert else ""),
    ]
    if handler.failing_since is not None:
        lines.append(f"  failing since {format_ms(handler.failing_since)} UTC")
    return "\n".join(lines)


def _limits_text(handler: Handler, flow: HandlerFlow | None) -> str:
    parts = []
    if handler.max_in_flight:
        parts.append(f"{handler.max_in_flight} in flight")
    if handler.max_rate:
        burst = burst_of(handler.max_rate, handler.rate_burst)
        parts.append(f"{handler.max_rate:g}/s (burst {burst})")
        effective = flow.effective_rate if flow else None
        if effective is not None and effective < handler.max_rate:
            parts.append(f"effective rate {effective:.3g}/s (backing off)")
        else:
            parts.append(f"effective rate {handler.max_rate:g}/s")
    return ", ".join(parts) or "none"


def _breaker_text(handler: Handler, flow: HandlerFlow | None) -> str:
    threshold = breaker_threshold(handler.breaker_after)
    if threshold is None:
        return "off"
    text = f"opens after {threshold} failures in a row"
    if flow is not None and flow.circuit_opened_at is not None:
        text += f"; OPEN since {format_ms(flow.circuit_opened_at)} UTC"
        if flow.probe_at is not None:
            text += f", next probe at {format_ms(flow.probe_at)} UTC"
    elif handler.failures_in_row:
        text += f"; {handler.failures_in_row} now"
    return text


def _retry_text(handler: Handler) -> str:
    r = handler.retry
    parts = []
    if r.schedule:
        parts.append(f"schedule {r.schedule}")
    if r.base_s is not None or r.factor is not None or r.cap_s is not None:
        parts.append(f"exponential base {r.base_s} factor {r.factor} cap {r.cap_s}")
    if r.max_attempts is not None:
        parts.append(f"at most {r.max_attempts} attempts")
    if r.max_age_s is not None:
        parts.append(f"for at most {r.max_age_s:g} s")
    return ", ".join(parts) if parts else "service default"


def fixed_width_time(ms: int) -> str:
    """Always with milliseconds, so that a column of times stays aligned
    (format_ms leaves out '.000')."""
    return ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M:%S") + f".{ms % 1000:03d}"
