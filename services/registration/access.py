"""The owner facts of registrations, youth and erasures; mixed into the service.

The gateway calls ``access_facts`` before it lets a youth, a guardian or partner
staff act on one of these records.
"""

from cities_common.access_facts import check_request
from cities_common.errors import NotFound
from cities_common.rpc import rpc

FACT_KINDS = ("registration", "youth", "erasure")


class AccessFactsEntrypoints:
    """The ``access_facts`` entrypoint: a record's youth and opportunity ids."""

    @rpc
    def access_facts(self, kind, record_id):
        """Return the ids the gateway checks access against.

        A registration's facts carry no ``organization_id``, because registrations
        store only the opportunity id: the catalog's ``access_facts`` maps it to
        the organisation. Raises ``InvalidInput`` for an unknown ``kind`` and
        ``NotFound`` when the context city has no such record.
        """
        record_id = check_request(kind, record_id, FACT_KINDS)
        city = self.tenant.city
        if kind == "registration":
            registration = self._registration(city, record_id)
            return {"registration_id": registration["id"],
                    "youth_id": registration["youth_id"],
                    "opportunity_id": registration["opportunity_id"]}
        if kind == "youth":
            if not self.store.people.has_youth(city, record_id):
                raise NotFound(f"youth {record_id!r} not found in {city}")
            return {"youth_id": record_id}
        erasure = self.store.people.get_erasure(city, record_id)
        if erasure is None:
            raise NotFound(f"erasure {record_id!r} not found in {city}")
        return {"erasure_id": erasure["id"], "youth_id": erasure["youth_id"]}
