"""The script-free page behind a guardian's consent link, in English and Spanish.

The link in the consent e-mail is ``<PUBLIC_BASE_URL>/guardian-consent/<city>``
with the token in the URL fragment, which browsers never send to a server. So the
page prompts for the consent code that the same e-mail shows, and its form posts
the code and the answer in the request body, which stays out of access logs. A web
front end can read the fragment itself and call ``POST
/v1/cities/<city>/guardian-consent`` instead.
"""

from html import escape

from werkzeug.wrappers import Response

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guardian consent / Consentimiento</title></head>
<body><h1>Cities of Learning, {city_name}</h1>
{message}{form}</body></html>
"""
FORM = """<form method="post">
<p><label for="token">Consent code from the e-mail / Código de consentimiento
del correo</label><br>
<input id="token" name="token" required autocomplete="off" spellcheck="false"
size="48" maxlength="100"></p>
<p><button type="submit" name="decision" value="grant">I consent / Doy mi
consentimiento</button>
<button type="submit" name="decision" value="decline">I do not consent / No doy
mi consentimiento</button></p>
</form>
"""
ASK = ("A child under 13 needs a guardian's consent to register for learning "
       "programmes. Enter the consent code from the e-mail, then answer. / "
       "Un menor de 13 años necesita el consentimiento de su tutor para "
       "inscribirse. Escribe el código del correo y responde.")

# Outcome or refusal reason: (HTTP status, message, whether to show the form).
OUTCOMES = {
    "granted": (200, "Thank you: you gave consent, and the child can now register. "
                     "/ Gracias: diste tu consentimiento y el menor ya puede "
                     "inscribirse.", False),
    "declined": (200, "You declined consent, and the child cannot register. / No "
                      "diste tu consentimiento y el menor no puede inscribirse.",
                 False),
    "invalid": (400, "Enter the consent code from the e-mail and choose an answer. / "
                     "Escribe el código del correo y elige una respuesta.", True),
    "not_found": (404, "This consent code is not valid: check that you copied all "
                       "of it. / Este código no es válido: revisa que lo copiaste "
                       "completo.", True),
    "consent_token_used": (409, "This consent code was already used. / Este código "
                                "ya se usó.", False),
    "consent_token_expired": (409, "This consent code expired: ask for a new "
                                   "consent e-mail. / Este código venció: pide un "
                                   "correo nuevo.", False),
    "consent_token_revoked": (409, "A newer consent e-mail replaced this one: use "
                                   "the code of the newest. / Un correo más "
                                   "reciente reemplazó a este: usa el código del "
                                   "más reciente.", False),
    # Any other reason the registration service may give.
    "rejected": (409, "This consent code cannot be used: ask for a new consent "
                      "e-mail. / Este código no se puede usar: pide un correo "
                      "nuevo.", False),
}


def consent_page(city_name: str, outcome: str | None = None) -> Response:
    """Return the page: the form alone, or an outcome from ``OUTCOMES`` above it.

    An outcome missing from ``OUTCOMES`` is shown as ``rejected``.
    """
    if outcome is None:
        status, message, show_form = 200, ASK, True
    else:
        status, message, show_form = OUTCOMES.get(outcome, OUTCOMES["rejected"])
    html = PAGE.format(city_name=escape(city_name), message=f"<p>{message}</p>\n",
                       form=FORM if show_form else "")
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
