"""Registrations and completions, from the registration service."""

from gateway.entrypoints import http
from gateway.requests import json_body


class RegistrationRoutes:
    """Routes under ``/v1/cities/<city>`` served by the registration service."""

    @http("POST", "/v1/cities/<string:city>/registrations")
    def register(self, request, city):
        """Register a youth; 201 for a new registration, 200 for the existing one."""
        registration = self.registration_rpc.register(json_body(request))
        return (201 if registration.pop("created") else 200), registration

    @http("GET", "/v1/cities/<string:city>/registrations/<string:registration_id>")
    def get_registration(self, request, city, registration_id):
        return self.registration_rpc.get_registration(registration_id)

    @http("POST", "/v1/cities/<string:city>/registrations/<string:registration_id>/completion")
    def complete(self, request, city, registration_id):
        body = json_body(request) if request.content_length else {}
        return self.registration_rpc.complete(registration_id, body)
