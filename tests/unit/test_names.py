"""Names people type: trimmed, visible, and free of text-direction tricks."""

import pytest
from marshmallow import Schema, ValidationError

from cities_common.names import PersonName
from services.registration.schemas import GuardianSchema, YouthProfileSchema


class NameSchema(Schema):
    name = PersonName(max_length=20, required=True)


def load(name):
    return NameSchema().load({"name": name})["name"]


@pytest.mark.parametrize("typed, stored", [
    ("  Sam  ", "Sam"),
    ("Ana\tMaría", "Ana María"),
    ("می\u200cخواهم", "می\u200cخواهم"),   # Persian needs the zero-width non-joiner
    ("\u05e9\u05e8\u05d4 \u200fK", "\u05e9\u05e8\u05d4 \u200fK"),  # a right-to-left mark
    ("\U0001f469\u200d\U0001f4bb", "\U0001f469\u200d\U0001f4bb"),  # an emoji sequence
])
def test_accepts_real_names(typed, stored):
    assert load(typed) == stored


@pytest.mark.parametrize("typed, words", [
    ("", "between"),
    ("   ", "between"),
    ("\u200b", "invisible"),
    ("Sam\u202eevil", "bidirectional"),
    ("Sam\u2066x\u2069", "bidirectional"),
    ("Sam\x00", "control"),
    ("Sam\x1b[31m", "control"),
    ("\u200d\u200c", "visible"),
    ("x" * 21, "between"),
])
def test_rejects_invalid_names(typed, words):
    with pytest.raises(ValidationError) as error:
        load(typed)
    assert words in " ".join(error.value.messages["name"]).lower()


def test_registration_schemas_check_names():
    errors = YouthProfileSchema().validate({
        "display_name": " \u202e ", "birth_year": 2012, "birth_month": 1,
        "guardians": [{"name": "   ", "email": "g@example.org"}]})
    assert "display_name" in errors
    assert "name" in errors["guardians"][0]
    assert "name" in GuardianSchema().validate({"name": "", "email": "g@example.org"})
