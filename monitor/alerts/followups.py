"""Follow-ups and deadline reminders of a story, rendered for each sink. Pure.

A follow-up is short: what is new ("+2 sources: reuters, ap", a raised severity), the event
line, the due date and the story's title and link. Feed text is cleaned exactly as in
:mod:`monitor.alerts.render`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from monitor.alerts import reminders
from monitor.alerts.render import (
    WEBHOOK_SCHEMA,
    AlertView,
    EmailParts,
    alert_view,
    mail_templates,
    slack_note_payload,
    wire_alert,
)
from monitor.alerts.textsafe import header_text
from monitor.alerts.threads import Followup


def _news(note: Followup, view: AlertView) -> str:
    """What the message says is new, as plain text (still to be escaped for Slack)."""
    if note.kind == "reminder":
        return f"Reminder: {reminders.phrase(note.reminder)} ({view.deadline})"
    if note.sources:
        return f"+{len(note.sources)} sources: {', '.join(view.sources)}"
    if note.reason == "due":
        return f"due {view.deadline}"
    return f"now {view.severity.upper()}"


def _view(note: Followup) -> AlertView:
    return alert_view(replace(note.alert, sources=note.sources))


def followup_line(note: Followup) -> str:
    """One console line: severity, what is new, the event line, the due date, the title."""
    view = _view(note)
    kind = "reminder" if note.kind == "reminder" else "follow-up"
    parts = [f"[{view.severity.upper()}] {kind}", _news(note, view)]
    if view.event_line:
        parts.append(view.event_line)
    if view.deadline and note.kind != "reminder" and note.reason != "due":
        parts.append(f"due {view.deadline}")
    parts.append(view.title)
    return " · ".join(parts)


def slack_followup_payload(note: Followup) -> dict[str, Any]:
    """A short Block Kit message (the thread's reply, when the sink threads)."""
    view = _view(note)
    return slack_note_payload(view, _news(note, view))


def webhook_followup_payload(note: Followup, subscription: str) -> dict[str, Any]:
    """The JSON body of a follow-up (``type: followup``) or reminder (``type: reminder``)."""
    alert = note.alert
    body: dict[str, Any] = {
        "schema": WEBHOOK_SCHEMA,
        "type": note.kind,
        "subscription": subscription,
        "story": note.story,
        "event": alert.event.to_dict() if alert.event is not None else None,
        "due": _view(note).deadline or None,
        "sources": list(note.sources),
        "sources_total": note.total_sources,
        "reason": note.reason if note.kind == "followup" else "reminder",
        "alert": wire_alert(alert),
    }
    if note.kind == "reminder":
        body["reminder"] = note.reminder
    return body


def email_followup_parts(note: Followup) -> EmailParts:
    """Subject and bodies of a follow-up or reminder mail (a reply to the story's first mail)."""
    view = _view(note)
    news = _news(note, view)
    if note.kind == "reminder":
        subject = f"[{view.severity.upper()}] {news}: {view.title}"
    else:
        subject = f"Re: [{view.severity.upper()}] {view.title}"
    env = mail_templates()
    context = {"view": view, "news": news}
    return EmailParts(
        subject=header_text(subject, 200),
        text=env.get_template("followup.txt.j2").render(context),
        html=env.get_template("followup.html.j2").render(context),
    )
