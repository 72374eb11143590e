"""Log records that name their city, request id and event id.

Use ``ContextFilter`` on a handler (the nameko config in ``deploy/nameko.yml`` does)
and a format that includes ``%(city)s %(request_id)s %(event_id)s``. Services log ids,
never a young person's name, birth date, address or e-mail.
"""

import logging

from cities_common import context


class ContextFilter(logging.Filter):
    """Copy the current city, request id and event id onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = context.current()
        record.city = values.get("city", "-")
        record.request_id = values.get("request_id", "-")
        record.event_id = values.get("event_id", "-")
        return True
