"""The HTML page behind a guardian's consent link."""

from types import SimpleNamespace
from unittest.mock import Mock

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.consent_page import OUTCOMES, consent_page
from gateway.routes.registration import RegistrationRoutes


def test_consent_page_has_form_without_script():
    response = consent_page("Chicago")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert '<form method="post">' in html
    assert 'name="token"' in html
    assert 'value="grant"' in html
    assert 'value="decline"' in html
    assert "<script" not in html


def test_consent_page_escapes_city_name():
    html = consent_page("<b>Chicago</b>").get_data(as_text=True)
    assert "<b>Chicago" not in html
    assert "&lt;b&gt;Chicago" in html


@pytest.mark.parametrize("outcome, status, form", [
    ("granted", 200, False),
    ("declined", 200, False),
    ("invalid", 400, True),
    ("not_found", 404, True),
    ("consent_token_used", 409, False),
    ("consent_token_expired", 409, False),
    ("consent_token_revoked", 409, False),
    ("some_new_reason", 409, False),
])
def test_consent_page_outcomes(outcome, status, form):
    response = consent_page("Chicago", outcome)
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert ("<form" in html) is form
    assert (OUTCOMES.get(outcome) or OUTCOMES["rejected"])[1] in html


def test_form_with_two_decisions_is_invalid():
    routes = SimpleNamespace(catalog_rpc=Mock(), registration_rpc=Mock())
    routes.catalog_rpc.get_city.return_value = {"name": "Dallas"}
    form = "token=abcdefghijklmnopqrstuvwxyz&decision=grant&decision=decline"
    request = Request(EnvironBuilder(
        method="POST", data=form,
        content_type="application/x-www-form-urlencoded").get_environ())
    handler = RegistrationRoutes.answer_consent_page.__wrapped__
    response = handler(routes, request, "dallas")
    assert response.status_code == 400
    routes.registration_rpc.answer_guardian_consent.assert_not_called()
