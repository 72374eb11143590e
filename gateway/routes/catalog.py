"""Cities and opportunity details, from the catalog service."""

from gateway.entrypoints import http


class CatalogRoutes:
    """Routes under ``/v1/cities/<city>`` served by the catalog service."""

    @http("GET", "/v1/cities")
    def list_cities(self, request):
        return {"cities": self.catalog_rpc.list_cities()}

    @http("GET", "/v1/cities/<string:city>")
    def get_city(self, request, city):
        return self.catalog_rpc.get_city(city)

    @http("GET", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>")
    def get_opportunity(self, request, city, opportunity_id):
        return self.catalog_rpc.get_opportunity(opportunity_id)
