"""Permissions in a city's catalog: which account may do what.

The caller names the acting account, and the catalog checks that the account is
active, belongs to the city and has the right role. Moderators are the city's
administrators and the members of its anchor organisation. A partner's members act
on their own organisation only.

The gateway authenticates the caller and passes the catalog account that the
caller's identity grant names in this city; the catalog trusts that id.

``access_facts`` goes the other way: it tells the gateway which organisation owns
an opportunity, so the gateway can check its own callers before calling.
"""

from cities_common.access_facts import check_request
from cities_common.errors import Forbidden, NotFound
from cities_common.rpc import rpc
from services.catalog.directory import CITY_ADMIN, MEMBER_ACTIVE
from services.catalog.organizations import membership_status

FACT_KINDS = ("opportunity", "organization")


class Actor:
    """An active account of the city, with its organisation when it has one."""

    def __init__(self, account: dict, organization: dict | None):
        self.account = account
        self.organization = organization

    @property
    def id(self) -> str:
        return self.account["id"]

    @property
    def is_moderator(self) -> bool:
        """True for a city administrator or a member of the anchor organisation."""
        if self.account["role"] == CITY_ADMIN:
            return True
        return bool(self.organization and self.organization.get("anchor"))

    def belongs_to(self, organization_id: str) -> bool:
        return self.account.get("organization_id") == organization_id

    def require_moderator(self, action: str) -> None:
        if not self.is_moderator:
            raise Forbidden(f"account {self.id} may not {action}: only the city's "
                            "administrators and anchor organisation may")

    def require_member(self, organization_id: str, action: str) -> None:
        """Allow members of ``organization_id`` and moderators; raise ``Forbidden``."""
        if not (self.is_moderator or self.belongs_to(organization_id)):
            raise Forbidden(f"account {self.id} may not {action}: it is not a member "
                            f"of organisation {organization_id}")

    def require_admin_of(self, organization_id: str, action: str) -> None:
        """Allow the organisation's org admins and moderators; raise ``Forbidden``."""
        if self.is_moderator:
            return
        if not (self.belongs_to(organization_id) and self.account["role"] == "org_admin"):
            raise Forbidden(f"account {self.id} may not {action}: it is not an "
                            f"org_admin of organisation {organization_id}")


def resolve_actor(store, city: str, account_id) -> Actor:
    """Load the acting account of ``city``; raise ``Forbidden`` if it cannot act.

    An account of another city is treated as unknown, so its id reveals nothing.
    """
    if not account_id:
        raise Forbidden("no acting account given: sign in as a staff member or "
                        "administrator of the city")
    account = store.accounts.get(city, str(account_id))
    if account is None:
        raise Forbidden(f"account {str(account_id)[:40]!r} is not an account of {city}")
    if account["status"] != MEMBER_ACTIVE:
        raise Forbidden(f"account {account['id']} is {account['status']}: accept the "
                        "invitation first")
    organization = None
    if account.get("organization_id"):
        organization = store.get("organizations", city, account["organization_id"])
        if organization is None:
            raise NotFound(f"organisation {account['organization_id']} of account "
                           f"{account['id']} not found in {city}")
    return Actor(account, organization)


class AccessFactsEntrypoints:
    """Mixed into ``CatalogService``: the owner of an opportunity or organisation."""

    @rpc
    def access_facts(self, kind, record_id):
        """Return the ids and status the gateway checks access against.

        Any status counts, drafts included. Raises ``InvalidInput`` for an unknown
        ``kind`` and ``NotFound`` when the context city has no such record.
        """
        record_id = check_request(kind, record_id, FACT_KINDS)
        city = self._city()
        if kind == "opportunity":
            opportunity = self._opportunity(city, record_id)
            return {"opportunity_id": opportunity["id"],
                    "organization_id": opportunity.get("organization_id"),
                    "status": opportunity["status"]}
        organization = self._organization(city, record_id)
        return {"organization_id": organization["id"], "kind": organization["kind"],
                "anchor": bool(organization.get("anchor")),
                "membership": membership_status(organization)}
