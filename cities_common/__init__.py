"""Contracts and dependency providers shared by every Cities of Learning service.

This package imports no service, and no service imports another: services meet only
through the event contracts and RPC calls defined here.
"""

from marshmallow import fields as _fields

# marshmallow's defaults ("Missing data for required field.", "Field may not be
# null.") do not say what to do. Every field made after this import, which is
# every schema of the platform, reports these instead, under the field's name.
_fields.Field.default_error_messages = {
    **_fields.Field.default_error_messages,
    "required": "is required: add this field",
    "null": "may not be null: send a value",
}
