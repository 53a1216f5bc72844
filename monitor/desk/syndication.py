"""A channel as Atom and JSON Feed 1.1, due dates as iCalendar (RFC 5545). Pure.

Feed text goes in as text (Atom ``type="text"``, JSON ``content_text``): a reader never renders
it as markup. Only http(s) links are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import icalendar

from monitor.alerts.textsafe import http_link, one_line, strip_terminal
from monitor.history.record import StoryRecord

ATOM = "http://www.w3.org/2005/Atom"
JSON_FEED = "https://jsonfeed.org/version/1.1"
REMINDERS = (timedelta(days=7), timedelta(days=1))


def _headline(record: StoryRecord) -> str:
    event = record.first.event
    title = one_line(record.first.entry.title, 300)
    return f"{one_line(event.line(), 120)}: {title}" if event else title


def _text(record: StoryRecord) -> str:
    lines = [strip_terminal(record.first.entry.summary).strip()]
    if record.due:
        lines.append(f"Due: {record.due.isoformat()}")
    if len(record.sources) > 1:
        lines.append("Sources: " + ", ".join(one_line(s.feed, 80) for s in record.sources))
    return "\n\n".join(line for line in lines if line)


def atom_feed(
    channel: str, records: Sequence[StoryRecord], *, base_url: str, now: datetime
) -> bytes:
    """The channel's newest stories as an Atom 1.0 document."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:treaty-monitor:channel:{channel}"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"treaty-monitor: {channel}"
    newest = max((r.last_seen for r in records), default=now)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = newest.isoformat()
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self",
                  href=f"{base_url}/feeds/{channel}.atom")  # fmt: skip
    ET.SubElement(feed, f"{{{ATOM}}}generator").text = "treaty-monitor"
    for record in records:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:treaty-monitor:story:{record.story}"
        ET.SubElement(entry, f"{{{ATOM}}}title", type="text").text = _headline(record)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = record.last_seen.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}published").text = record.when.isoformat()
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(author, f"{{{ATOM}}}name").text = one_line(record.first.entry.feed, 80)
        link = http_link(record.first.entry.link)
        if link:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=link)
        for tag in record.tags:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=tag)
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = _text(record)
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def json_feed(channel: str, records: Sequence[StoryRecord], *, base_url: str) -> dict[str, Any]:
    """The channel's newest stories as a JSON Feed 1.1 object."""
    items = []
    for record in records:
        item: dict[str, Any] = {
            "id": f"urn:treaty-monitor:story:{record.story}",
            "title": _headline(record),
            "content_text": _text(record),
            "date_published": record.when.isoformat(),
            "date_modified": record.last_seen.isoformat(),
            "tags": list(record.tags),
            "authors": [{"name": one_line(record.first.entry.feed, 80)}],
            "_treaty_monitor": {"story": record.story, "severity": record.severity.label,
                                "due": record.due.isoformat() if record.due else None},
        }  # fmt: skip
        link = http_link(record.first.entry.link)
        if link:
            item["url"] = link
        items.append(item)
    return {
        "version": JSON_FEED,
        "title": f"treaty-monitor: {channel}",
        "home_page_url": f"{base_url}/?channel={channel}",
        "feed_url": f"{base_url}/feeds/{channel}.json",
        "items": items,
    }


def calendar(records: Sequence[StoryRecord], *, now: datetime) -> bytes:
    """One all-day event per due date, with reminders a week and a day before."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//treaty-monitor//due dates//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "treaty-monitor: due dates")
    for record in records:
        if record.due is None:
            continue
        event = icalendar.Event()
        event.add("uid", f"due-{record.story}@treaty-monitor")
        event.add("dtstamp", now)
        event.add("dtstart", record.due)
        event.add("dtend", record.due + timedelta(days=1))
        event.add("summary", f"Due: {_headline(record)}")
        event.add("description", _text(record))
        link = http_link(record.first.entry.link)
        if link:
            event.add("url", link)
        event.add("categories", list(record.tags) or ["treaty"])
        for before in REMINDERS:
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"Due in {before.days} day(s): {_headline(record)}")
            alarm.add("trigger", -before)
            event.add_component(alarm)
        cal.add_component(event)
    return bytes(cal.to_ical())
