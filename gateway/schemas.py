"""Query-string parsing for the gateway's search endpoints."""

from gateway.errors import BadRequest

# Parameter name: the search schema's list field it fills. Each may repeat, and
# each value may hold a comma-separated list.
COMMA_LISTS = {
    "interests": "interests", "interest": "interests",
    "skills": "skills", "skill": "skills",
    "format": "format",
    "language": "language",
    "accessibility": "accessibility",
    "cost": "cost",
}
# Provider names contain commas ("Language Ladders, Inc"), so only repeat these.
REPEATED_LISTS = {"provider": "provider"}
BOOLEAN_PARAMETERS = {"free", "include_online", "registration_open", "facets"}
TRUE_VALUES, FALSE_VALUES = ("true", "1"), ("false", "0")


def query_parameters(args) -> dict:
    """Turn a werkzeug ``MultiDict`` into the dict the search schemas load.

    List parameters (``interests``, ``format``...) may repeat or hold a
    comma-separated list; ``provider`` may only repeat. Booleans accept
    true/false/1/0. Any other parameter must be given once. Raises ``BadRequest``
    naming the parameter.
    """
    query: dict = {}
    for key in args:
        values = args.getlist(key)
        if key in COMMA_LISTS:
            items = query.setdefault(COMMA_LISTS[key], [])
            for value in values:
                items.extend(item.strip() for item in value.split(",") if item.strip())
            continue
        if key in REPEATED_LISTS:
            query.setdefault(REPEATED_LISTS[key], []).extend(
                value.strip() for value in values if value.strip())
            continue
        if len(values) > 1:
            raise BadRequest({key: ["must be given once"]})
        value = values[0]
        if key in BOOLEAN_PARAMETERS:
            lowered = value.strip().lower()
            if lowered not in TRUE_VALUES + FALSE_VALUES:
                raise BadRequest({key: ["must be true or false"]})
            query[key] = lowered in TRUE_VALUES
        else:
            query[key] = value
    return query
