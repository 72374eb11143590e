"""Badges and their hosted assertions, from the badges service."""

from gateway.entrypoints import http


class BadgesRoutes:
    """Routes under ``/v1/cities/<city>`` served by the badges service."""

    @http("GET", "/v1/cities/<string:city>/youth/<string:youth_id>/badges")
    def list_badges(self, request, city, youth_id):
        return {"badges": self.badges_rpc.list_badges(youth_id)}

    @http("GET", "/v1/cities/<string:city>/badges/assertions/<string:assertion_id>")
    def get_assertion(self, request, city, assertion_id):
        """The hosted Open Badges 2.0 assertion, for verifiers."""
        return self.badges_rpc.get_assertion(assertion_id)["open_badge"]
