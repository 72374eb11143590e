"""Sessions of an opportunity: local times in the city's time zone, with recurrence.

A session is ``{"start": "2026-07-06T10:00", "end": "2026-07-06T12:00",
"rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=8"}``. ``start`` and ``end`` are wall-clock
times without an offset, read in the city's IANA time zone, so a weekly 10:00 class
stays at 10:00 across a daylight-saving change. ``rrule`` is the value of an RFC 5545
RRULE property, expanded with python-dateutil from ``start``. It must end, through
COUNT or UNTIL, so every schedule has a last date.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

MAX_OCCURRENCES = 366
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class SessionError(ValueError):
    """A session that cannot be read; ``field`` names the key at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def time_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``; raise ``ValueError`` when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone") from exc


def check_wall_time(local: datetime, zone: ZoneInfo, field: str) -> None:
    """Raise ``SessionError`` when ``local`` does not exist in ``zone``.

    A wall time skipped when clocks go forward (02:30 on the spring change in the
    United States) does not survive a round trip through UTC.
    """
    aware = local.replace(tzinfo=zone)
    round_trip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    if round_trip != local:
        raise SessionError(field, f"{local:%Y-%m-%d %H:%M} does not exist in {zone.key}: "
                                  "the clocks skip that hour")


@dataclass(frozen=True)
class Occurrences:
    """The expanded schedule of one session: every start, and the session length."""

    starts: list[datetime]
    duration: timedelta


def expand(session: dict, zone: ZoneInfo) -> Occurrences:
    """Expand one validated session into its local start times.

    Raises ``SessionError`` naming ``end`` or ``rrule`` when the session ends before
    it starts, the rule cannot be parsed, never ends or yields too many dates.
    """
    start, end = session["start"], session["end"]
    check_wall_time(start, zone, "start")
    check_wall_time(end, zone, "end")
    if end <= start:
        raise SessionError("end", f"must be after start ({start:{LOCAL_FORMAT}})")
    rule = session.get("rrule")
    if not rule:
        return Occurrences([start], end - start)
    return Occurrences(_expand_rule(rule, start), end - start)


def _expand_rule(rule: str, start: datetime) -> list[datetime]:
    text = rule.strip().removeprefix("RRULE:")
    upper = text.upper()
    if "\n" in text or "DTSTART" in upper or ":" in text:
        raise SessionError("rrule", "must be one RRULE value such as "
                                    "'FREQ=WEEKLY;BYDAY=MO;COUNT=6', without DTSTART")
    if "COUNT=" not in upper and "UNTIL=" not in upper:
        raise SessionError("rrule", "must end: give COUNT or UNTIL")
    if re.search(r"UNTIL=[0-9T]+Z", upper):
        raise SessionError("rrule", "UNTIL must be a local date-time without 'Z', "
                                    "like start, in the city's time zone")
    try:
        recurrence = rrulestr(text, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise SessionError("rrule", f"is not a valid RFC 5545 RRULE: {exc}") from exc
    starts = []
    for occurrence in recurrence:
        starts.append(occurrence)
        if len(starts) > MAX_OCCURRENCES:
            raise SessionError("rrule", f"yields more than {MAX_OCCURRENCES} dates")
    if not starts:
        raise SessionError("rrule", "yields no date on or after start")
    return starts


def last_end(sessions: list[dict], zone: ZoneInfo) -> datetime:
    """Return the local wall time at which the last occurrence of any session ends."""
    expanded = [expand(session, zone) for session in sessions]
    return max(item.starts[-1] + item.duration for item in expanded)


def schedule_summary(sessions: list[dict], zone: ZoneInfo) -> dict:
    """Summarise validated sessions: first start and last end with their UTC offset.

    Also returns the local ``start_date``, ``end_date``, ``start_time`` and
    ``end_time`` that imported opportunities carry, so search treats both alike.
    """
    expanded = [expand(session, zone) for session in sessions]
    first_start = min(item.starts[0] for item in expanded)
    last_end = max(item.starts[-1] + item.duration for item in expanded)
    first = min(expanded, key=lambda item: item.starts[0])
    return {
        "schedule": {
            "time_zone": zone.key,
            "first_start": first_start.replace(tzinfo=zone).isoformat(),
            "last_end": last_end.replace(tzinfo=zone).isoformat(),
            "occurrences": sum(len(item.starts) for item in expanded),
        },
        "start_date": first_start.date().isoformat(),
        "end_date": last_end.date().isoformat(),
        "start_time": first.starts[0].strftime("%H:%M"),
        "end_time": (first.starts[0] + first.duration).strftime("%H:%M"),
    }
