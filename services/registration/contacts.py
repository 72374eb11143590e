"""The address that registration e-mail about a youth goes to.

The address travels in ``youth_registered`` and ``waitlist_promoted`` so that the
notifications service, which keeps no profiles, can write. It is the youth's own
``contact_email`` when given, else the e-mail of the guardian who consented, else
that of the first guardian, each with that person's language. The youth's display
name goes with it, so a guardian of several children can tell whom a message is
about.
"""


def mail_contact(youth: dict) -> dict:
    """Return ``contact_email``, ``preferred_language`` and ``youth_display_name``
    for an event, or {}."""
    name = {"youth_display_name": youth.get("display_name")}
    if youth.get("contact_email"):
        return {"contact_email": youth["contact_email"],
                "preferred_language": youth.get("preferred_language"), **name}
    guardians = youth.get("guardians") or []
    consenting = (youth.get("consent") or {}).get("guardian_id")
    chosen = next((guardian for guardian in guardians
                   if guardian["id"] == consenting), None)
    if chosen is None and guardians:
        chosen = guardians[0]
    if chosen is None:
        return {}
    return {"contact_email": chosen["email"],
            "preferred_language": chosen.get("language"), **name}
