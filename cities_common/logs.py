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
        # A value passed with ``extra=`` wins, because code outside a worker,
        # such as the gateway's error responses, has the ids but no context.
        for name in ("city", "request_id", "event_id"):
            if getattr(record, name, None) in (None, "-"):
                setattr(record, name, values.get(name, "-"))
        # nameko logs an entrypoint's expected exceptions (the client errors)
        # as a warning with the traceback; the one-line message is enough.
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            record.exc_info = None
            record.exc_text = None
        return True
