"""Build Elasticsearch request bodies from validated search requests.

Every function here is pure: it takes a request loaded by one of the schemas in
``services.search.schemas`` and returns the keyword arguments of
``Elasticsearch.search``, so unit tests and the benchmark use the same bodies as
the service.
"""

from datetime import date

TEXT_FIELDS = ["title^3", "provider^2", "description", "location_names"]
PUBLISHED = {"term": {"status": "published"}}

# Facet name: (field, maximum number of buckets). The facet names are also the
# request parameters that filter on them.
FACETS = {
    "interests": ("interests", 20),
    "format": ("format", 3),
    "provider": ("provider.raw", 10),
    "cost": ("cost", 3),
}
ONLINE_FORMATS = ["online", "hybrid"]

# Gaussian decay of the ``blended`` sort: a result at half the radius (at least
# MIN_DECAY_SCALE_KM) keeps half of its text relevance.
DECAY = 0.5
MIN_DECAY_SCALE_KM = 1.0
# Distance at which ``distance_feature`` gives a related result half its boost.
RELATED_PIVOT_KM = 2.0


def search_body(request: dict, today: date) -> dict:
    """Return the body of an opportunity search; ``today`` is the city's date."""
    query = {"bool": {"must": [text_query(request.get("q"))],
                      "filter": [PUBLISHED, *filters(request, today)]}}
    if request["sort"] == "blended":
        query = blended(query, request)
    body = {
        "query": query,
        "sort": sort_clause(request),
        "size": request["page_size"],
        "track_total_hits": True,
        "_source": ["document"],
    }
    facet_filters = selected_facets(request)
    if facet_filters:
        body["post_filter"] = {"bool": {"filter": list(facet_filters.values())}}
    if request.get("facets", True):
        body["aggs"] = facet_aggregations(facet_filters)
    if request.get("q"):
        body["highlight"] = {
            "pre_tags": ["<em>"], "post_tags": ["</em>"],
            "fields": {"title": {"number_of_fragments": 0},
                       "provider": {"number_of_fragments": 0},
                       "description": {"fragment_size": 160, "number_of_fragments": 2}},
        }
    if request.get("search_after"):
        body["search_after"] = request["search_after"]
    return body


def text_query(q: str | None) -> dict:
    """Match ``q`` over title, provider, description and location names."""
    if not q:
        return {"match_all": {}}
    return {"bool": {
        "must": [{"multi_match": {"query": q, "fields": TEXT_FIELDS,
                                  "type": "best_fields", "tie_breaker": 0.3}}],
        # Ranks titles that contain the words in the typed order first.
        "should": [{"match_phrase": {"title": {"query": q, "boost": 2}}}],
    }}


def filters(request: dict, today: date) -> list[dict]:
    """Return the filters that narrow both the hits and the facet counts."""
    clauses = []
    if request.get("skills"):
        clauses.append({"terms": {"skills": request["skills"]}})
    if request.get("language"):
        codes = [code.lower() for code in request["language"]]
        clauses.append({"terms": {"languages": codes}})
    for feature in request.get("accessibility") or []:
        clauses.append(accessibility_filter(feature))
    if request.get("free") is not None:
        clauses.append({"term": {"free": request["free"]}})
    ages = age_filter(request)
    if ages:
        clauses.append(ages)
    if request.get("date_from") or request.get("date_to"):
        clauses.append({"range": {"sessions": {
            **_bounds(request.get("date_from"), request.get("date_to")),
            "relation": "intersects"}}})
    if request.get("registration_open"):
        clauses.append({"range": {"registration": {
            "gte": today.isoformat(), "lte": today.isoformat(),
            "relation": "intersects"}}})
    if request.get("lat") is not None:
        clauses.append(near_filter(request))
    return clauses


def accessibility_filter(feature: str) -> dict:
    """Match an accessibility feature listed by slug or named in the free-text notes.

    The catalog describes accessibility in ``accessibility_notes``, so the slug
    ``wheelchair-accessible`` also matches notes containing "wheelchair accessible".
    """
    return {"bool": {"should": [
        {"term": {"accessibility": feature}},
        {"match_phrase": {"accessibility_notes": feature.replace("-", " ")}},
    ], "minimum_should_match": 1}}


def age_filter(request: dict) -> dict | None:
    """Match opportunities whose age range overlaps the requested ages.

    An opportunity that states no ages is open to every age, so it matches too.
    """
    if request.get("age") is not None:
        low = high = request["age"]
    else:
        low, high = request.get("min_age"), request.get("max_age")
    if low is None and high is None:
        return None
    overlap = {"range": {"ages": {**_bounds(low, high), "relation": "intersects"}}}
    return {"bool": {"should": [overlap,
                                {"bool": {"must_not": {"exists": {"field": "ages"}}}}],
                     "minimum_should_match": 1}}


def near_filter(request: dict) -> dict:
    """Match locations within the radius, and online opportunities when asked."""
    near = {"geo_distance": {"distance": f"{request['radius_km']}km",
                             "locations": point(request)}}
    if not request.get("include_online"):
        return near
    return {"bool": {"should": [near, {"terms": {"format": ONLINE_FORMATS}}],
                     "minimum_should_match": 1}}


def selected_facets(request: dict) -> dict:
    """Return the filter of each facet the request selects, keyed by facet name."""
    selected = {}
    for name, (field, _) in FACETS.items():
        values = request.get(name)
        if values:
            selected[name] = {"terms": {field: values}}
    return selected


def facet_aggregations(facet_filters: dict) -> dict:
    """Count each facet's values under every selected facet filter but its own.

    The selected facets filter the hits through ``post_filter``, so choosing one
    interest still shows how many results each other interest would add.
    """
    aggregations = {}
    for name, (field, size) in FACETS.items():
        others = [clause for other, clause in facet_filters.items() if other != name]
        aggregations[name] = {
            "filter": {"bool": {"filter": others}},
            "aggs": {"values": {"terms": {"field": field, "size": size}}},
        }
    return aggregations


def facet_counts(aggregations: dict) -> dict:
    """Turn the response's aggregations into ``{facet: [{value, count}, ...]}``."""
    return {
        name: [{"value": bucket["key"], "count": bucket["doc_count"]}
               for bucket in aggregations[name]["values"]["buckets"]]
        for name in FACETS if name in aggregations
    }


def blended(query: dict, request: dict) -> dict:
    """Multiply relevance by a Gaussian decay of the distance to the nearest location.

    Opportunities without a location (online ones) keep their full relevance.
    """
    scale = max(request["radius_km"] / 2, MIN_DECAY_SCALE_KM)
    decay = {"locations": {"origin": point(request), "scale": f"{scale}km",
                           "decay": DECAY},
             "multi_value_mode": "min"}
    return {"function_score": {"query": query, "functions": [{"gauss": decay}],
                               "score_mode": "multiply", "boost_mode": "multiply"}}


def sort_clause(request: dict) -> list:
    """Return the sort; every sort ends with ``id``, so cursors never tie."""
    sort = request["sort"]
    if sort == "distance":
        first = {"_geo_distance": {"locations": point(request), "order": "asc",
                                   "unit": "km", "mode": "min"}}
    elif sort == "start_date":
        first = {"start_date": {"order": "asc", "missing": "_last"}}
    else:
        first = {"_score": "desc"}
    return [first, {"id": "asc"}]


def related_body(source: dict, index: str, size: int) -> dict:
    """Return the body that finds opportunities related to the indexed ``source``.

    A result shares an interest with the source or has similar text
    (``more_like_this``); among those, nearer ones rank higher.
    """
    similar = [{"more_like_this": {
        "fields": ["title", "description"],
        "like": [{"_index": index, "_id": source["id"]}],
        "min_term_freq": 1, "min_doc_freq": 2, "max_query_terms": 25,
        "minimum_should_match": "30%",
    }}]
    if source.get("interests"):
        similar.append({"terms": {"interests": source["interests"], "boost": 2.0}})
    query = {"bool": {
        "filter": [PUBLISHED],
        "must_not": [{"ids": {"values": [source["id"]]}}],
        "must": [{"bool": {"should": similar, "minimum_should_match": 1}}],
    }}
    locations = source.get("locations") or []
    if locations:
        query["bool"]["should"] = [{"distance_feature": {
            "field": "locations", "pivot": f"{RELATED_PIVOT_KM}km",
            "origin": locations[0], "boost": 1.0}}]
    return {"query": query, "size": size, "sort": [{"_score": "desc"}, {"id": "asc"}],
            "_source": ["document"]}


def autocomplete_body(prefix: str, size: int) -> dict:
    """Return the completion-suggester body for titles and interests."""
    return {
        "size": 0,
        "_source": ["id", "title", "interests"],
        "suggest": {
            # Several titles may match through the same input text, so duplicates
            # are kept here and removed by title afterwards.
            "titles": {"prefix": prefix,
                       "completion": {"field": "title_suggest", "size": size * 3}},
            "interests": {"prefix": prefix,
                          "completion": {"field": "interest_suggest", "size": size * 3,
                                         "skip_duplicates": True}},
        },
    }


def point(request: dict) -> dict:
    return {"lat": request["lat"], "lon": request["lon"]}


def _bounds(low, high) -> dict:
    bounds = {}
    if low is not None:
        bounds["gte"] = low.isoformat() if isinstance(low, date) else low
    if high is not None:
        bounds["lte"] = high.isoformat() if isinstance(high, date) else high
    return bounds
