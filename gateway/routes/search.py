"""Opportunity and site search, from the search service."""

from gateway.access import PUBLIC, route
from gateway.schemas import query_parameters


class SearchRoutes:
    """Routes under ``/v1/cities/<city>`` served by the search service."""

    @route("GET", "/v1/cities/<string:city>/opportunities", access=PUBLIC)
    def search_opportunities(self, request, city):
        """Search by text, interest, skill, age, dates, cost, format, language,
        accessibility and distance from lat/lon.

        The response contains facet counts and a cursor for the next page.
        """
        return self.search_rpc.search_opportunities(query_parameters(request.args))

    @route("GET", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>/related",
           access=PUBLIC)
    def related_opportunities(self, request, city, opportunity_id):
        """Opportunities that share interests or text with one, nearer ones first."""
        return self.search_rpc.related_opportunities(opportunity_id,
                                                     query_parameters(request.args))

    @route("GET", "/v1/cities/<string:city>/autocomplete", access=PUBLIC)
    def autocomplete(self, request, city):
        """Titles and interests that start with ``prefix``, for a search box."""
        return self.search_rpc.autocomplete(query_parameters(request.args))

    @route("GET", "/v1/cities/<string:city>/sites", access=PUBLIC)
    def search_sites(self, request, city):
        """Provider sites (libraries, recreation centres) near a point or by name."""
        return self.search_rpc.search_sites(query_parameters(request.args))

    @route("GET", "/v1/cities/<string:city>/index", access=PUBLIC)
    def index_counts(self, request, city):
        return self.search_rpc.index_counts()
