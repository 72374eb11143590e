"""Session occurrences of an opportunity, for attendance and overlap warnings.

The catalog stores sessions as ``{"start": "2026-07-06T10:00", "end":
"2026-07-06T12:00", "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=8"}``: wall-clock times
in the city's IANA time zone, and an optional RFC 5545 RRULE expanded from
``start``. Each occurrence is named by its local start (``2026-07-08T10:00``), which
is the session id that attendance uses.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# The catalog rejects rules that yield more dates than this; stop there as well.
MAX_OCCURRENCES_PER_SESSION = 366


@dataclass(frozen=True)
class Occurrence:
    """One meeting: its id (the local start) and its start and end in UTC."""

    session_id: str
    starts_at: datetime
    ends_at: datetime


def parse_local(value: str) -> datetime:
    """Parse a catalog wall-clock time such as ``2026-07-06T10:00``."""
    return datetime.strptime(value, LOCAL_FORMAT)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def occurrences(sessions: list[dict], time_zone: str) -> list[Occurrence]:
    """Expand catalog sessions into their occurrences, sorted by start.

    Raises ``ValueError`` on a session the catalog would not have stored (an
    unreadable time or rule).
    """
    zone = ZoneInfo(time_zone)
    found: dict[str, Occurrence] = {}
    for session in sessions or []:
        start, end = parse_local(session["start"]), parse_local(session["end"])
        duration = end - start
        for local in _starts(start, session.get("rrule")):
            session_id = local.strftime(LOCAL_FORMAT)
            found[session_id] = Occurrence(session_id, to_utc(local, zone),
                                           to_utc(local + duration, zone))
    return sorted(found.values(), key=lambda item: item.starts_at)


def _starts(start: datetime, rule: str | None) -> list[datetime]:
    if not rule:
        return [start]
    text = rule.strip().removeprefix("RRULE:")
    starts = []
    for occurrence in rrulestr(text, dtstart=start):
        starts.append(occurrence)
        if len(starts) >= MAX_OCCURRENCES_PER_SESSION:
            break
    return starts


def first_overlap(first: list[Occurrence],
                  second: list[Occurrence]) -> tuple[Occurrence, Occurrence] | None:
    """Return the earliest pair of occurrences that overlap in time, or None.

    Both lists must be sorted by start. Touching intervals (one ends as the next
    starts) do not overlap.
    """
    i = j = 0
    while i < len(first) and j < len(second):
        a, b = first[i], second[j]
        if a.starts_at < b.ends_at and b.starts_at < a.ends_at:
            return a, b
        if a.ends_at <= b.ends_at:
            i += 1
        else:
            j += 1
    return None
