"""A field for names people type: display names, guardians' and account names.

Names show up on rosters, e-mails and badge pages, so a name must contain
something visible and nothing that changes how the text around it is shown:
no control characters, and no bidirectional overrides or isolates, which can
make a name read backwards or hide part of it (the "Trojan Source" trick).
Surrounding white space is trimmed and runs of white space become one space.
"""

import re
import unicodedata

from marshmallow import ValidationError, fields, validate

# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069).
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Invisible characters with no place in a name. Joiners (U+200C, U+200D) and the
# left-to-right and right-to-left marks stay: some scripts and emoji need them.
INVISIBLE = re.compile("[\u200b\u2060\ufeff]")
SPACES = re.compile(r"\s+")


class PersonName(fields.String):
    """A trimmed name of ``min_length`` to ``max_length`` visible characters."""

    def __init__(self, max_length: int, min_length: int = 1, **kwargs):
        kwargs.setdefault("validate", validate.Length(min_length, max_length))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        name = SPACES.sub(" ", super()._deserialize(value, attr, data, **kwargs)).strip()
        if BIDI_CONTROLS.search(name):
            raise ValidationError("must not contain bidirectional control characters "
                                  "(U+202A-U+202E, U+2066-U+2069); type the name "
                                  "without them")
        if INVISIBLE.search(name) or any(unicodedata.category(char) == "Cc"
                                         for char in name):
            raise ValidationError("must not contain control or invisible characters; "
                                  "type the name as plain text")
        if name and not any(unicodedata.category(char)[0] in "LNSP" for char in name):
            raise ValidationError("must contain a visible character")
        return name
