"""Build the gateway's OpenAPI 3.1 document from its routes, with apispec.

nameko keeps each entrypoint on the method it decorates (``nameko_entrypoints``),
so walking the service class finds every HTTP route with its method, werkzeug
URL, docstring and, once routes declare one, access policy (``function.access``).
``gateway.openapi`` supplies the schemas and statuses that the code does not
declare.
"""

import inspect
import re
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields, validate
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.web.handlers import HttpRequestHandler

from cities_common.context import CITY_SLUG_PATTERN
from gateway import openapi
from gateway.entrypoints import MAX_PATH_VALUE_LENGTH

TITLE = "Cities of Learning API"
API_VERSION = "1"
# A werkzeug rule variable: <name>, <converter:name> or <converter(arguments):name>.
WERKZEUG_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)"
                               r"(?:\((?P<arguments>[^)]*)\))?:)?"
                               r"(?P<name>[a-zA-Z_]\w*)>")
# Any werkzeug ``string`` value that the gateway passes on. It has no slash, and
# ``check_path_values`` rejects control characters with 400.
PATH_VALUE = {"type": "string", "minLength": 1, "maxLength": MAX_PATH_VALUE_LENGTH,
              "pattern": r"^[^/\x00-\x1f\x7f]+$"}
PATH_SCHEMAS = {
    "city": {"type": "string", "pattern": CITY_SLUG_PATTERN.pattern,
             "examples": ["chicago"],
             "description": "The city's slug, such as chicago or dallas"},
}
# strftime directives in marshmallow date-time formats, as regular expressions.
STRFTIME_PATTERNS = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%H": r"\d{2}",
                     "%M": r"\d{2}", "%S": r"\d{2}"}
ERROR_RESPONSES = {
    400: "The request is invalid, and errors names each bad field",
    401: "No credential, or an invalid, expired or revoked one",
    403: "The credential is valid but may not do this",
    404: "No such city or record, or one the caller may not know of",
    409: "The record's state does not allow this, or a newer version exists",
    410: "The city is archived, but its export stays readable",
    413: "The request body is too large",
    429: "A rate limit was exceeded. Retry after Retry-After seconds",
    503: "A service did not reply in time. Retry after Retry-After seconds",
}
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": "Requests the tightest applicable limit allows per window",
    "RateLimit-Remaining": "Requests left in that window",
    "RateLimit-Reset": "Seconds until the window has room again",
}


@dataclass
class Route:
    """One HTTP route of the service: a method of one handler."""

    name: str
    method: str
    url: str
    function: object

    @property
    def access(self):
        return getattr(self.function, "access", None)

    @property
    def path(self) -> str:
        return WERKZEUG_VARIABLE.sub(lambda match: "{%s}" % match["name"], self.url)

    @property
    def path_parameters(self) -> list[str]:
        return [match["name"] for match in WERKZEUG_VARIABLE.finditer(self.url)]

    @property
    def source(self) -> str:
        return inspect.getsource(inspect.unwrap(self.function))

    @property
    def tag(self) -> str:
        owner = self.function.__qualname__.split(".")[0]
        if owner.endswith("Routes"):
            return owner[:-len("Routes")].lower()
        return "platform"


def http_routes(service_cls) -> list[Route]:
    """Return every HTTP route of ``service_cls``, sorted by path and method."""
    found = []
    for name, function in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, HttpRequestHandler):
                for method in entrypoint.method.split(","):
                    found.append(Route(name, method.strip().upper(), entrypoint.url,
                                       function))
    return sorted(found, key=lambda route: (route.path, route.method))


DESCRIPTION = """\
JSON over HTTP, where each city is a tenant named in the path. Errors are RFC 9457
`application/problem+json` documents. Send an access token from
`POST /v1/auth/token` as `Authorization: Bearer <token>`, or a partner's API key
as `Authorization: Bearer col_...` or `X-Api-Key`. Every response carries
`X-Request-Id` and the `RateLimit-*` headers of the tightest rate limit.
"""


def build_document(service_cls, base_url: str | None = None) -> dict:
    """Return the OpenAPI 3.1 document of every HTTP route of ``service_cls``."""
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(
        title=TITLE, version=API_VERSION, openapi_version="3.1.0", plugins=[plugin],
        info={"description": DESCRIPTION},
        servers=[{"url": base_url}] if base_url else [],
    )
    plugin.converter.add_attribute_function(repair_field)
    _add_components(spec)
    routes = http_routes(service_cls)
    for route in routes:
        spec.path(path=route.path,
                  operations={route.method.lower(): operation(route, plugin)})
    document = spec.to_dict()
    tags = sorted({route.tag for route in routes})
    document["tags"] = [{"name": tag} for tag in tags]
    return document


def operation(route: Route, plugin: MarshmallowPlugin) -> dict:
    """Return the OpenAPI operation object of one route."""
    summary, description = _docstring(route)
    request_schema, response_schema = openapi.SCHEMAS.get(route.name, (None, None))
    headers = [dict(header) for header in openapi.HEADERS.get(route.name, [])]
    result = {
        "operationId": route.name,
        "summary": summary,
        "tags": [route.tag],
        "parameters": (_path_parameters(route) + _query_parameters(route, plugin)
                       + headers),
        "responses": _responses(route, response_schema),
    }
    access = route.access
    if access is not None:
        result["security"] = list(access.security)
        result["x-access"] = access.name
        policy = getattr(access, "summary", "") or access.name
        description = f"{description}\n\nAccess: {policy}".strip()
    if description:
        result["description"] = description
    if request_schema is not None:
        result["requestBody"] = {
            "required": route.name not in openapi.OPTIONAL_BODIES,
            "content": {openapi.JSON: {"schema": request_schema}}}
    elif route.name in openapi.RAW_BODIES:
        result["requestBody"] = {"required": True, "content": {
            media_type: {"schema": schema}
            for media_type, schema in openapi.RAW_BODIES[route.name].items()}}
    return result


def _docstring(route: Route) -> tuple[str, str]:
    text = inspect.getdoc(route.function) or ""
    if not text:
        return route.name.replace("_", " ").capitalize(), ""
    # A summary may wrap, and it ends at the first blank line.
    head, _, rest = text.partition("\n\n")
    return " ".join(head.split()), rest.strip()


def _path_parameters(route: Route) -> list[dict]:
    return [{"name": name, "in": "path", "required": True,
             "schema": dict(PATH_SCHEMAS.get(name, PATH_VALUE))}
            for name in route.path_parameters]


def _query_parameters(route: Route, plugin: MarshmallowPlugin) -> list[dict]:
    schemas = openapi.QUERY.get(route.name, ())
    if not isinstance(schemas, tuple):
        schemas = (schemas,)
    parameters = []
    for schema in schemas:
        for parameter in plugin.converter.schema2parameters(schema, location="query"):
            _drop_null(parameter["schema"])
            parameters.append(parameter)
    return parameters


def _drop_null(schema: dict) -> None:
    """Remove ``null`` from a query parameter's type, because absent is not null."""
    if isinstance(schema.get("type"), list):
        types = [name for name in schema["type"] if name != "null"]
        schema["type"] = types[0] if len(types) == 1 else types
    if schema.get("default", 0) is None:
        del schema["default"]


def _responses(route: Route, response_schema) -> dict:
    responses = {}
    for status in openapi.SUCCESS.get(route.name, (200,)):
        responses[str(status)] = _success(route, status, response_schema)
    for status in error_statuses(route):
        responses.setdefault(str(status), _problem_name(status))
    for status in openapi.ERROR_PAGES.get(route.name, ()):
        responses[str(status)] = {"description": ERROR_RESPONSES[status], "content": {
            openapi.HTML: {"schema": {"type": "string"}},
            openapi.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    return responses


def _success(route: Route, status: int, response_schema) -> dict:
    description = "Success" if status < 400 else "The failure report"
    if status == 204:
        return {"description": "Done; no content"}
    media_types = openapi.MEDIA.get(route.name, (openapi.JSON,))
    content = {}
    for media_type in media_types:
        if media_type == openapi.JSON:
            schema = response_schema or {"type": "object"}
        elif media_type.startswith("image/png"):
            schema = {"type": "string", "format": "binary"}
        elif media_type.endswith("json"):
            schema = {"type": "object"}
        else:
            schema = {"type": "string"}
        content[media_type] = {"schema": schema}
    return {"description": description, "content": content}


def error_statuses(route: Route) -> list[int]:
    """Return the problem statuses ``route`` may return, besides 500."""
    statuses = {429}
    request_schema = openapi.SCHEMAS.get(route.name, (None, None))[0]
    has_body = request_schema is not None or route.name in openapi.RAW_BODIES
    if route.path_parameters or has_body or route.name in openapi.QUERY:
        statuses.add(400)
    if has_body:
        statuses.add(413)
    if route.path_parameters:
        statuses.add(404)
    if "city" in route.path_parameters:
        statuses.add(410)
    access = route.access
    if access is None or access.name != "public":
        statuses.update((401, 403))
    statuses.update(openapi.EXTRA_ERRORS.get(route.name, ()))
    if route.method not in ("GET", "HEAD"):
        statuses.add(409)
    if "_rpc." in route.source:
        statuses.add(503)
    return sorted(statuses)


def _problem_name(status: int) -> str:
    return f"Problem{status}"


def _add_components(spec: APISpec) -> None:
    spec.components.schema("Problem", schema=openapi.ProblemSchema)
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An access token from POST /v1/auth/token. On webhook "
                       "routes a partner's API key (col_...) is also accepted "
                       "here."})
    spec.components.security_scheme("apiKey", {
        "type": "apiKey", "in": "header", "name": "X-Api-Key",
        "description": "A partner organisation's API key (col_...)."})
    for name, description in RATE_LIMIT_HEADERS.items():
        spec.components.header(name, {"description": description,
                                      "schema": {"type": "integer", "minimum": 0}})
    spec.components.header("Retry-After", {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 1}})
    for status, description in ERROR_RESPONSES.items():
        problem = {"schema": openapi.ProblemSchema}
        response = {"description": description,
                    "content": {openapi.PROBLEM_JSON: problem}}
        if status in (429, 503):
            response["headers"] = {"Retry-After": "Retry-After"}
        if status == 429:
            response["headers"].update({name: name for name in RATE_LIMIT_HEADERS})
        spec.components.response(_problem_name(status), response)


def schema_name(schema) -> str:
    """Name a component after its module and class: ``catalog.Location``."""
    schema_cls = schema if isinstance(schema, type) else type(schema)
    module = schema_cls.__module__.split(".")
    if module[0] == "services":
        prefix = module[1]
    elif module[0] == "cities_common":
        prefix = module[-1]
    else:
        prefix = "gateway"
    name = schema_cls.__name__.removesuffix("Schema")
    if getattr(schema, "partial", False):
        name += "Changes"
    return f"{prefix}.{name}"


def repair_field(self, field, ret, **kwargs) -> dict:
    """Fill in what apispec leaves out or leaves as null for some fields.

    A date-time with a strftime format gets a pattern instead of a null format,
    and a field with marshmallow's URL validator gets ``format: uri``.
    """
    if isinstance(field, fields.DateTime) and ret.get("format", "") is None:
        del ret["format"]
        if ret.get("pattern") is None and field.format:
            ret["pattern"] = _strftime_pattern(field.format)
    for key in ("format", "pattern"):
        if key in ret and ret[key] is None:
            del ret[key]
    if any(isinstance(validator, validate.URL) for validator in field.validators):
        ret.setdefault("format", "uri")
    return {}


def _strftime_pattern(format_string: str) -> str | None:
    """Return a regular expression for ``format_string``, or None if unsure.

    Escapes only regex syntax characters, because ECMA-262 patterns (those of
    JSON Schema) reject other escapes, such as a backslash before a hyphen.
    """
    parts = re.split(r"(%.)", format_string)
    if any(part.startswith("%") and part not in STRFTIME_PATTERNS for part in parts):
        return None
    return "^" + "".join(
        STRFTIME_PATTERNS.get(part) or re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", part)
        for part in parts) + "$"
