"""Query-string parsing for the gateway's search endpoints."""

from gateway.errors import BadRequest

LIST_PARAMETERS = {"interests", "interest"}
BOOLEAN_PARAMETERS = {"free", "include_online"}


def query_parameters(args) -> dict:
    """Turn a werkzeug ``MultiDict`` into the dict the search schemas load.

    ``interest`` may repeat, or ``interests`` may hold a comma-separated list.
    Booleans accept true/false/1/0. Raises ``BadRequest`` naming the parameter.
    """
    query: dict = {}
    interests: list[str] = []
    for key in args:
        values = args.getlist(key)
        if key in LIST_PARAMETERS:
            for value in values:
                interests.extend(item.strip() for item in value.split(",") if item.strip())
            continue
        if len(values) > 1:
            raise BadRequest({key: ["must be given once"]})
        value = values[0]
        if key in BOOLEAN_PARAMETERS:
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise BadRequest({key: ["must be true or false"]})
            query[key] = lowered in ("true", "1")
        else:
            query[key] = value
    if interests:
        query["interests"] = interests
    return query
