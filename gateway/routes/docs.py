"""The OpenAPI document and a human-readable page of it, for anyone.

Both are built once, when the gateway starts, from the service class's routes.
"""

import json

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from gateway.access import PUBLIC, route
from gateway.apidoc import build_document
from gateway.docs_page import content_security_policy, render_page


class ApiDocument(DependencyProvider):
    """The service's OpenAPI document, as JSON and as an HTML page."""

    def setup(self):
        base_url = self.container.config.get("PUBLIC_BASE_URL") or None
        document = build_document(self.container.service_cls, base_url)
        self.json = json.dumps(document)
        self.page = render_page(document)

    def get_dependency(self, worker_ctx):
        return self


class DocsRoutes:
    """``/v1/openapi.json`` and ``/v1/docs``."""

    api_document = ApiDocument()

    @route("GET", "/v1/openapi.json", access=PUBLIC)
    def openapi_document(self, request):
        """Return the OpenAPI 3.1 document of every route of this gateway."""
        return Response(self.api_document.json, mimetype="application/json")

    @route("GET", "/v1/docs", access=PUBLIC)
    def api_docs(self, request):
        """Return a page describing every route, its parameters, bodies and errors."""
        response = Response(self.api_document.page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = content_security_policy()
        return response
