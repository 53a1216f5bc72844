"""Messages from alerts: one cleaned view, rendered for the terminal, Slack, email and webhooks.

Pure: no I/O, no clock. Every feed-supplied string passes through :mod:`textsafe` before it is
placed in a message, and only the entry's http(s) link is ever rendered as a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from monitor.alerts.alert import Alert
from monitor.alerts.textsafe import (
    header_text,
    http_link,
    one_line,
    slack_cut,
    slack_escape,
    slack_link,
    slack_mrkdwn,
    strip_terminal,
)

WEBHOOK_SCHEMA = "treaty-monitor.alert/1"
_SUMMARY_CHARS = 600
_SEVERITY_COLOURS = {"critical": "1;91", "high": "91", "medium": "93", "low": "96", "info": "37"}
_SEVERITY_EMOJI = {
    "critical": ":rotating_light:",
    "high": ":red_circle:",
    "medium": ":large_orange_diamond:",
    "low": ":large_blue_circle:",
    "info": ":white_circle:",
}


@dataclass(frozen=True, slots=True)
class AlertView:
    """The displayable parts of an alert, each already cleaned to plain, single-line text."""

    alert_id: str
    severity: str
    rule_id: str
    rule_title: str
    title: str
    feed: str
    published: str
    link: str
    tags: tuple[str, ...]
    terms: tuple[str, ...]
    deadline: str
    summary: str
    sources: tuple[str, ...]
    # "Russia · New START · suspension" when the alert carries its event, else "".
    event_line: str = ""
    story: str = ""


@dataclass(frozen=True, slots=True)
class Digest:
    """Alerts collected for one subscription over one period, sent as one message."""

    id: str
    subscription: str
    alerts: tuple[Alert, ...]


def _when(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def alert_view(alert: Alert) -> AlertView:
    """The cleaned view every renderer starts from."""
    entry = alert.entry
    summary = strip_terminal(entry.summary or entry.content).strip()
    if len(summary) > _SUMMARY_CHARS:
        summary = summary[: _SUMMARY_CHARS - 1].rstrip() + "…"
    return AlertView(
        alert_id=alert.id,
        severity=alert.severity.label,
        rule_id=one_line(alert.rule_id, 100),
        rule_title=one_line(alert.rule_title, 200),
        title=one_line(entry.title, 300) or "(no title)",
        feed=one_line(entry.feed, 100),
        published=_when(entry.published),
        link=http_link(entry.link),
        tags=tuple(t for t in (one_line(s, 60) for s in alert.tags) if t),
        terms=tuple(t for t in (one_line(s, 80) for s in alert.matched_terms) if t),
        deadline=_due(alert),
        summary=" ".join(summary.split()),
        sources=tuple(one_line(s, 100) for s in alert.sources),
        event_line=one_line(_event_line(alert), 300),
        story=one_line(alert.story or "", 100),
    )


def _event_line(alert: Alert) -> str:
    """The event line with the entry's language after it ("Russia · New START · suspension ·
    ru"): a desk reading several languages sees which outlet's wording the alert carries."""
    if alert.event is None:
        return ""
    language = one_line(alert.entry.language, 20)
    return " · ".join(part for part in (alert.event.line(), language) if part)


def _due(alert: Alert) -> str:
    """The due date every copy shows: the alert's deadline, else its event's due date."""
    due = alert.deadline or (alert.event.due if alert.event is not None else None)
    return due.isoformat() if due else ""


def _sources_note(view: AlertView) -> str:
    return f"+{len(view.sources)} sources: {', '.join(view.sources)}" if view.sources else ""


# --- terminal ---------------------------------------------------------------------------------


def console_text(alert: Alert, *, colour: bool = False) -> str:
    """A readable block of lines for a terminal; ANSI colour only when ``colour``."""
    view = alert_view(alert)
    label = f"[{view.severity.upper()}]"
    if colour:
        label = f"\x1b[{_SEVERITY_COLOURS.get(view.severity, '0')}m{label}\x1b[0m"
        title = f"\x1b[1m{view.title}\x1b[0m"
    else:
        title = view.title
    lines = [f"{label} {view.rule_id} · {title}"]
    if view.event_line:
        lines.append(f"  event:    {view.event_line}")
    if note := _sources_note(view):
        lines.append(f"  {note}")
    lines.append(f"  source:   {view.feed} · {view.published}")
    if view.link:
        lines.append(f"  link:     {view.link}")
    if view.tags:
        lines.append(f"  tags:     {', '.join(view.tags)}")
    if view.terms:
        lines.append(f"  matched:  {', '.join(view.terms)}")
    if view.deadline:
        lines.append(f"  deadline: {view.deadline}")
    return "\n".join(lines)


def console_digest(digest: Digest, *, colour: bool = False) -> str:
    """A digest as a heading followed by each alert's block."""
    head = f"== digest for {one_line(digest.subscription)}: {len(digest.alerts)} alerts =="
    return "\n".join([head, *(console_text(a, colour=colour) for a in digest.alerts)])


# --- Slack ------------------------------------------------------------------------------------


# Slack refuses a whole message (HTTP 400) when a text object is too long, and escaping can
# make feed text five times longer (& → &amp;): limits are applied to the escaped text.
_SECTION_CHARS = 3000
_FIELD_CHARS = 2000


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link URLs, channel names or mentions inside our text.
    # Feed text inside it has passed through slack_mrkdwn or slack_link.
    return {"type": "mrkdwn", "text": slack_cut(text, _SECTION_CHARS), "verbatim": True}


def _plain(text: str, limit: int = _SECTION_CHARS) -> dict[str, Any]:
    # plain_text is never formatted; entities still decode, so <, > and & stay escaped, and
    # emoji=False keeps ":shortcodes:" in feed text as typed.
    return {"type": "plain_text", "text": slack_cut(slack_escape(text), limit), "emoji": False}


def _linked_title(view: AlertView, before: str, after: str = "") -> str:
    """``before`` + the title (linked when it has a link and the whole still fits) + ``after``."""
    if view.link:
        linked = f"{before}{slack_link(view.link, view.title)}{after}"
        if len(linked) <= _SECTION_CHARS:
            return linked
    return f"{before}{slack_mrkdwn(view.title)}{after}"


def _slack_alert_blocks(view: AlertView) -> list[dict[str, Any]]:
    # Feed text goes in plain_text objects; only the title, a link, needs mrkdwn.
    emoji = _SEVERITY_EMOJI.get(view.severity, "")
    head = f"{emoji} *{view.severity.upper()}* · {slack_mrkdwn(view.rule_title)}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _mrkdwn(_linked_title(view, f"{head}\n*", "*"))},
    ]
    if view.event_line:
        blocks.append({"type": "section", "text": _plain(view.event_line)})
    fields = [_plain(f"Source\n{view.feed}"), _plain(f"Published\n{view.published}")]
    if view.tags:
        fields.append(_plain(f"Tags\n{', '.join(view.tags)}", _FIELD_CHARS))
    if view.terms:
        fields.append(_plain(f"Matched\n{', '.join(view.terms)}", _FIELD_CHARS))
    if view.deadline:
        fields.append(_plain(f"Deadline\n{view.deadline}"))
    blocks.append({"type": "section", "fields": fields})
    if note := _sources_note(view):
        blocks.append({"type": "section", "text": _plain(note)})
    if view.summary:
        blocks.append({"type": "section", "text": _plain(view.summary)})
    context = f"rule {view.rule_id} · alert {view.alert_id}"
    blocks.append({"type": "context", "elements": [_plain(context)]})
    return blocks


def _fallback(view: AlertView) -> str:
    prefix = f"+{len(view.sources)} sources · " if view.sources else ""
    return slack_mrkdwn(f"{prefix}[{view.severity.upper()}] {view.rule_title}: {view.title}")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Block Kit message for an incoming webhook; feed text plain, never a mention or link.

    ``text`` is the notification fallback: mrkdwn parsing is switched off for it and its
    formatting characters are replaced as in mrkdwn, for clients that format it anyway.
    """
    view = alert_view(alert)
    return {
        "text": slack_cut(_fallback(view), _SECTION_CHARS),
        "mrkdwn": False,
        "blocks": _slack_alert_blocks(view),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def slack_note_payload(view: AlertView, news: str) -> dict[str, Any]:
    """A short Block Kit message about ``view`` (a story's follow-up or reminder): what is new,
    the linked title, the event line and the due date; feed text plain, as in alerts."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": _plain(news)},
        {"type": "section", "text": _mrkdwn(_linked_title(view, "*", "*"))},
    ]
    details = [line for line in (view.event_line,) if line]
    if view.deadline:
        details.append(f"Deadline {view.deadline}")
    if details:
        blocks.append({"type": "section", "text": _plain("\n".join(details))})
    return {
        "text": slack_cut(slack_mrkdwn(f"{news} · {view.title}"), _SECTION_CHARS),
        "mrkdwn": False,
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def slack_digest_payload(digest: Digest, *, limit: int = 40) -> dict[str, Any]:
    """One Block Kit message listing a digest's alerts (Slack allows 50 blocks)."""
    views = [alert_view(a) for a in digest.alerts]
    head = f"*Digest* · {len(views)} alerts for {slack_mrkdwn(digest.subscription)}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _mrkdwn(head)}]
    for view in views[:limit]:
        line = f"*{view.severity.upper()}* {slack_mrkdwn(view.rule_title)} · "
        text = _linked_title(view, line, f"\n{slack_mrkdwn(view.feed)}")
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    if len(views) > limit:
        more = f"… and {len(views) - limit} more"
        blocks.append({"type": "context", "elements": [_plain(more)]})
    text = f"Digest: {len(views)} treaty-monitor alerts"
    return {
        "text": text,
        "mrkdwn": False,
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


# --- webhook ----------------------------------------------------------------------------------


def wire_alert(alert: Alert) -> dict[str, Any]:
    """The alert as webhooks carry it (the entry's link emptied unless http(s))."""
    data = alert.to_dict()
    data["entry"]["link"] = http_link(alert.entry.link)
    return data


def webhook_payload(alert: Alert, subscription: str) -> dict[str, Any]:
    """The documented JSON body of a webhook delivery (``type`` alert or followup)."""
    return {
        "schema": WEBHOOK_SCHEMA,
        "type": "followup" if alert.sources else "alert",
        "subscription": subscription,
        "story": alert.story,
        "event": alert.event.to_dict() if alert.event is not None else None,
        "due": _due(alert) or None,
        "language": alert.entry.language or None,
        "alert": wire_alert(alert),
    }


def webhook_digest_payload(digest: Digest) -> dict[str, Any]:
    """The JSON body of a digest delivery."""
    return {
        "schema": WEBHOOK_SCHEMA,
        "type": "digest",
        "subscription": digest.subscription,
        "digest_id": digest.id,
        "alerts": [wire_alert(a) for a in digest.alerts],
    }


# --- email ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailParts:
    """Subject (header-safe), plain-text body and HTML body of one email."""

    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def mail_templates() -> jinja2.Environment:
    """The Jinja2 environment of the email templates (autoescape for HTML)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def email_parts(alert: Alert) -> EmailParts:
    """Subject and multipart bodies of one alert's email."""
    view = alert_view(alert)
    prefix = f"+{len(view.sources)} sources: " if view.sources else ""
    subject = header_text(f"[{view.severity.upper()}] {prefix}{view.title}", 200)
    env = mail_templates()
    context = {"view": view, "sources_note": _sources_note(view)}
    return EmailParts(
        subject=subject,
        text=env.get_template("alert.txt.j2").render(context),
        html=env.get_template("alert.html.j2").render(context),
    )


def email_digest_parts(digest: Digest) -> EmailParts:
    """Subject and bodies of a digest email."""
    views: Sequence[AlertView] = [alert_view(a) for a in digest.alerts]
    top = max((a.severity for a in digest.alerts), default=None)
    label = top.label.upper() if top is not None else "INFO"
    subject = header_text(f"[{label}] treaty-monitor digest: {len(views)} alerts", 200)
    env = mail_templates()
    context = {"views": views, "subscription": one_line(digest.subscription)}
    return EmailParts(
        subject=subject,
        text=env.get_template("digest.txt.j2").render(context),
        html=env.get_template("digest.html.j2").render(context),
    )
