"""E-mail templates in English and Spanish, rendered with ``string.Template``.

Each message is plain text and ends with the unsubscribe link, except the
``TRANSACTIONAL`` kinds: a person asks for those (a sign-up's verification link, an
invited person's password link, a password reset link, a guardian's consent link), so they are sent even
to an unsubscribed address and end with a note on what to do if someone else
asked. Missing variables raise
``KeyError``, so a template and its caller cannot drift apart unnoticed
(``tests/unit/notifications/test_notifications_mail.py`` renders every template).
"""

from dataclasses import dataclass
from string import Template

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class MailTemplate:
    subject: Template
    body: Template


def _template(subject: str, body: str) -> MailTemplate:
    return MailTemplate(Template(subject), Template(body))


FOOTER = {
    "en": "\n--\nCities of Learning, $city_name\n"
          "To stop these e-mails, open $unsubscribe_url\n",
    "es": "\n--\nCities of Learning, $city_name\n"
          "Para dejar de recibir estos correos, abre $unsubscribe_url\n",
}

TEMPLATES = {
    ("registration_confirmed", "en"): _template(
        "Your place in $opportunity_title is confirmed",
        "Hello,\n\nYour registration for $opportunity_title in $city_name is "
        "confirmed.\n${participant}${details}Registration number: $registration_id\n\nSee you "
        "there!\n"),
    ("registration_confirmed", "es"): _template(
        "Tu lugar en $opportunity_title está confirmado",
        "Hola:\n\nTu inscripción en $opportunity_title en $city_name está "
        "confirmada.\n${participant}${details}Número de inscripción: $registration_id\n\n"
        "¡Te esperamos!\n"),
    ("badge_earned", "en"): _template(
        "You earned a badge: $badge_name",
        "Congratulations!\n\nYou earned the badge \"$badge_name\" in $city_name.\n"
        "${participant}Anyone can check it here: $badge_url\n"),
    ("badge_earned", "es"): _template(
        "Ganaste una insignia: $badge_name",
        "¡Felicidades!\n\nGanaste la insignia \"$badge_name\" en $city_name.\n"
        "${participant}Cualquiera puede verificarla aquí: $badge_url\n"),
    ("endpoint_disabled", "en"): _template(
        "Webhook endpoint disabled: $endpoint_host",
        "Hello $partner,\n\nYour webhook endpoint $subscription_id ($endpoint_url) "
        "in $city_name has failed every delivery since $failing_since, so we "
        "disabled it.\nEvents are no longer sent to it.\n\nFix the endpoint, then "
        "enable it again with PATCH /v1/cities/$city/webhooks/$subscription_id "
        "{\"status\": \"active\"} and replay what you missed with POST "
        "/v1/cities/$city/webhooks/$subscription_id/replay.\n"),
    ("endpoint_disabled", "es"): _template(
        "Endpoint de webhook desactivado: $endpoint_host",
        "Hola $partner:\n\nTu endpoint de webhook $subscription_id ($endpoint_url) "
        "en $city_name ha fallado en cada entrega desde $failing_since, así que lo "
        "desactivamos.\nYa no recibe eventos.\n\nCorrige el endpoint y vuelve a "
        "activarlo con PATCH /v1/cities/$city/webhooks/$subscription_id "
        "{\"status\": \"active\"}; recupera lo que faltó con POST "
        "/v1/cities/$city/webhooks/$subscription_id/replay.\n"),
    ("account_verification", "en"): _template(
        "Confirm your e-mail address for Cities of Learning",
        "Hello,\n\nTo finish creating your Cities of Learning account in "
        "$city_name, confirm this e-mail address by opening the link below within "
        "24 hours:\n\n$link\n"),
    ("account_verification", "es"): _template(
        "Confirma tu correo electrónico para Cities of Learning",
        "Hola:\n\nPara terminar de crear tu cuenta de Cities of Learning en "
        "$city_name, confirma esta dirección de correo abriendo el siguiente enlace "
        "en las próximas 24 horas:\n\n$link\n"),
    ("account_setup", "en"): _template(
        "Set your Cities of Learning password",
        "Hello,\n\nAn account on Cities of Learning in $city_name was created for "
        "this e-mail address. Choose your password by opening the link below within "
        "7 days:\n\n$link\n"),
    ("account_setup", "es"): _template(
        "Elige tu contraseña de Cities of Learning",
        "Hola:\n\nSe creó una cuenta de Cities of Learning en $city_name para esta "
        "dirección de correo. Elige tu contraseña abriendo el siguiente enlace en "
        "los próximos 7 días:\n\n$link\n"),
    ("password_reset", "en"): _template(
        "Reset your Cities of Learning password",
        "Hello,\n\nSomeone asked to reset the password of the Cities of Learning "
        "account for this e-mail address, from $city_name. To choose a new "
        "password, open the link below within an hour:\n\n$link\n\nSetting a "
        "new password signs the account out on every device.\n"),
    ("password_reset", "es"): _template(
        "Restablece tu contraseña de Cities of Learning",
        "Hola:\n\nAlguien pidió restablecer la contraseña de la cuenta de Cities "
        "of Learning de esta dirección de correo, desde $city_name. Para elegir una "
        "contraseña nueva, abre el siguiente enlace en la próxima hora:\n\n"
        "$link\n\nAl elegir una contraseña nueva, la cuenta se cierra en todos los "
        "dispositivos.\n"),
    ("guardian_consent_request", "en"): _template(
        "Your consent is needed: Cities of Learning, $city_name",
        "Hello $guardian_name,\n\n$youth_display_name wants to join learning "
        "programmes on Cities of Learning in $city_name. Children under 13 need "
        "a parent's or guardian's consent first, and you were named as "
        "$youth_display_name's guardian.\n\nTo give or decline consent, open this "
        "link before $expires_at:\n\n$consent_url\n\nIf the page asks for a "
        "consent code, enter:\n\n$code\n\nThe platform keeps only a display name, "
        "birth month and year, a postal code or neighbourhood, interests and "
        "guardians' contacts. A guardian can withdraw consent later; that cancels "
        "the child's registrations.\n"),
    ("guardian_consent_request", "es"): _template(
        "Necesitamos tu consentimiento: Cities of Learning, $city_name",
        "Hola $guardian_name:\n\n$youth_display_name quiere inscribirse en "
        "programas de aprendizaje de Cities of Learning en $city_name. Los menores "
        "de 13 años necesitan primero el consentimiento de su madre, padre o "
        "tutor, y te indicaron como tutor de $youth_display_name.\n\nPara dar o "
        "negar el consentimiento, abre este enlace antes del $expires_at:\n\n"
        "$consent_url\n\nSi la página te pide un código de consentimiento, "
        "escribe:\n\n$code\n\nLa plataforma guarda solo un nombre visible, el mes "
        "y año de nacimiento, un código postal o barrio, intereses y los contactos "
        "de los tutores. Un tutor puede retirar el consentimiento más adelante; "
        "eso cancela las inscripciones del menor.\n"),
    ("registration_waitlisted", "en"): _template(
        "You are on the waitlist for $opportunity_title",
        "Hello,\n\n$opportunity_title in $city_name is full, so your registration "
        "is on its waitlist.\n${participant}${details}Registration number: $registration_id\n\nPlaces go "
        "to the waitlist in the order people registered. If a place opens for you, "
        "we will write again. If you no longer want a place, cancel the "
        "registration.\n"),
    ("registration_waitlisted", "es"): _template(
        "Estás en la lista de espera de $opportunity_title",
        "Hola:\n\n$opportunity_title en $city_name está completo, así que tu "
        "inscripción quedó en su lista de espera.\n${participant}${details}Número de inscripción: "
        "$registration_id\n\nLos lugares se asignan en el orden de inscripción. "
        "Si se libera un lugar para ti, te escribiremos de nuevo. Si ya no quieres "
        "un lugar, cancela la inscripción.\n"),
    ("registration_cancelled", "en"): _template(
        "Registration cancelled: $opportunity_title",
        "Hello,\n\nYour registration $registration_id for $opportunity_title in "
        "$city_name was cancelled.\n${participant}${details}$reason\n"),
    ("registration_cancelled", "es"): _template(
        "Inscripción cancelada: $opportunity_title",
        "Hola:\n\nTu inscripción $registration_id en $opportunity_title en "
        "$city_name fue cancelada.\n${participant}${details}$reason\n"),
    ("waitlist_promoted", "en"): _template(
        "A place opened up: $opportunity_title",
        "Hello,\n\nA place opened up in $opportunity_title in $city_name, and it is "
        "yours: your registration moved from the waitlist to confirmed.\n"
        "${participant}${details}Registration number: $registration_id\n\nIf you can no longer come, "
        "cancel the registration so the next person on the waitlist gets the "
        "place.\n"),
    ("waitlist_promoted", "es"): _template(
        "Se liberó un lugar: $opportunity_title",
        "Hola:\n\nSe liberó un lugar en $opportunity_title en $city_name y es "
        "tuyo: tu inscripción pasó de la lista de espera a confirmada.\n"
        "${participant}${details}Número de inscripción: $registration_id\n\nSi ya no puedes asistir, "
        "cancela la inscripción para que la siguiente persona de la lista de "
        "espera reciba el lugar.\n"),
}

# The sentence that explains a cancellation, by the event's ``reason``. An
# erasure sends nothing, because the contact is being forgotten.
CANCELLATION_REASONS = {
    "youth_request": {
        "en": "You, or your guardian, cancelled it. To take part after all, register "
              "again while places are open.",
        "es": "Tú, o tu tutor, la cancelaste. Si al final quieres participar, "
              "inscríbete de nuevo mientras haya lugares."},
    "staff": {
        "en": "The organisation that runs the programme cancelled it. Write to them "
              "if you do not know why.",
        "es": "La organización que ofrece el programa la canceló. Escríbeles si no "
              "sabes por qué."},
    "consent_withdrawn": {
        "en": "A guardian withdrew consent for the platform to hold the registration.",
        "es": "Un tutor retiró su consentimiento para que la plataforma guarde la "
              "inscripción."},
    "opportunity_withdrawn": {
        "en": "The organisation withdrew the programme, so it will not take place as "
              "planned. Search the city's other programmes for something similar.",
        "es": "La organización retiró el programa, así que no se realizará como se "
              "planeó. Busca en los demás programas de la ciudad algo parecido."},
}

# A guardian's consent request is transactional too, because a child cannot
# register without it. So it reaches the guardian even after they unsubscribed.
TRANSACTIONAL = frozenset({"account_verification", "account_setup", "password_reset",
                           "guardian_consent_request"})

TRANSACTIONAL_FOOTER = {
    "en": "\n--\nCities of Learning, $city_name\n"
          "You receive this e-mail because this address was entered on Cities of "
          "Learning. If that was not you, ignore it: nothing happens without the "
          "link.\n",
    "es": "\n--\nCities of Learning, $city_name\n"
          "Recibes este correo porque alguien escribió esta dirección en Cities of "
          "Learning. Si no fuiste tú, ignóralo: sin el enlace no pasa nada.\n",
}

KINDS = sorted({kind for kind, _ in TEMPLATES})


def render(kind: str, language: str, variables: dict) -> tuple[str, str]:
    """Return (subject, body) of a message; unknown languages fall back to English."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    template = TEMPLATES[(kind, language)]
    # Messages queued before they named the youth, the date and the place have no
    # ``participant`` or ``details`` lines.
    variables = {"participant": "", "details": "", **variables}
    footer = (TRANSACTIONAL_FOOTER if kind in TRANSACTIONAL else FOOTER)[language]
    # A value with a line break (an opportunity title typed with one) would make
    # the Subject header invalid and the message unsendable, so every run of
    # white space in the subject becomes one space.
    subject = " ".join(template.subject.substitute(variables).split())
    body = template.body.substitute(variables) + Template(footer).substitute(variables)
    return subject, body
