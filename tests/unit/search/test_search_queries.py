"""Request bodies built for Elasticsearch from validated search requests."""

from datetime import date

from services.search import queries
from services.search.schemas import SearchRequestSchema, encode_cursor

TODAY = date(2026, 5, 10)


def body_for(**query):
    return queries.search_body(SearchRequestSchema().load(query), TODAY)


def query_filters(body):
    query = body["query"]
    if "function_score" in query:
        query = query["function_score"]["query"]
    return query["bool"]["filter"]


def test_search_body_filters_published_only():
    assert queries.PUBLISHED in query_filters(body_for())


def test_search_body_without_text_matches_all():
    body = body_for()
    assert body["query"]["bool"]["must"] == [{"match_all": {}}]
    assert "highlight" not in body


def test_search_body_text_over_three_fields_with_highlights():
    body = body_for(q="robots")
    text = body["query"]["bool"]["must"][0]["bool"]["must"][0]["multi_match"]
    assert text["query"] == "robots"
    for field in ("title^3", "provider^2", "description"):
        assert field in text["fields"]
    assert set(body["highlight"]["fields"]) == {"title", "provider", "description"}


def test_search_body_geo_filter_and_distance_sort():
    body = body_for(lat=41.8, lon=-87.6, radius_km=2)
    near = [item for item in query_filters(body) if "geo_distance" in item]
    assert near == [{"geo_distance": {"distance": "2.0km",
                                      "locations": {"lat": 41.8, "lon": -87.6}}}]
    assert body["sort"][0]["_geo_distance"]["unit"] == "km"
    assert body["sort"][0]["_geo_distance"]["mode"] == "min"
    assert body["sort"][1] == {"id": "asc"}


def test_search_body_include_online_ignores_distance():
    body = body_for(lat=41.8, lon=-87.6, include_online=True)
    near = [item for item in query_filters(body) if "bool" in item][0]["bool"]
    assert {"terms": {"format": ["online", "hybrid"]}} in near["should"]
    assert near["minimum_should_match"] == 1


def test_search_body_blended_uses_gauss_decay():
    body = body_for(lat=41.8, lon=-87.6, radius_km=8, q="robots")
    score = body["query"]["function_score"]
    gauss = score["functions"][0]["gauss"]
    assert gauss["locations"]["origin"] == {"lat": 41.8, "lon": -87.6}
    assert gauss["locations"]["scale"] == "4.0km"
    assert gauss["multi_value_mode"] == "min"
    assert score["boost_mode"] == "multiply"
    assert body["sort"][0] == {"_score": "desc"}


def test_search_body_blended_scale_has_floor():
    body = body_for(lat=41.8, lon=-87.6, radius_km=0.5, q="robots")
    gauss = body["query"]["function_score"]["functions"][0]["gauss"]
    assert gauss["locations"]["scale"] == "1.0km"


def test_search_body_start_date_sort_puts_undated_last():
    body = body_for(sort="start_date")
    assert body["sort"][0] == {"start_date": {"order": "asc", "missing": "_last"}}


def test_search_body_age_overlap_keeps_open_ages():
    age = [item for item in query_filters(body_for(age=12)) if "bool" in item][0]
    overlap, no_ages = age["bool"]["should"]
    assert overlap == {"range": {"ages": {"gte": 12, "lte": 12,
                                          "relation": "intersects"}}}
    assert no_ages == {"bool": {"must_not": {"exists": {"field": "ages"}}}}


def test_search_body_age_window_one_sided():
    age = [item for item in query_filters(body_for(min_age=16)) if "bool" in item][0]
    assert age["bool"]["should"][0]["range"]["ages"] == {"gte": 16,
                                                          "relation": "intersects"}


def test_search_body_date_window_overlap():
    body = body_for(date_from="2026-06-01", date_to="2026-06-07")
    assert {"range": {"sessions": {"gte": "2026-06-01", "lte": "2026-06-07",
                                   "relation": "intersects"}}} in query_filters(body)


def test_search_body_registration_open_today():
    body = body_for(registration_open=True)
    assert {"range": {"registration": {"gte": "2026-05-10", "lte": "2026-05-10",
                                       "relation": "intersects"}}} in query_filters(body)


def test_search_body_skills_languages_free():
    filters = query_filters(body_for(skills=["soldering"], language=["ES"], free=True))
    assert {"terms": {"skills": ["soldering"]}} in filters
    assert {"terms": {"languages": ["es"]}} in filters
    assert {"term": {"free": True}} in filters


def test_search_body_accessibility_all_of():
    filters = query_filters(body_for(accessibility=["step-free", "captioning"]))
    features = [item["bool"]["should"] for item in filters if "bool" in item]
    assert len(features) == 2
    assert {"term": {"accessibility": "step-free"}} in features[0]
    assert {"match_phrase": {"accessibility_notes": "step free"}} in features[0]


def test_search_body_facets_without_selection():
    body = body_for()
    assert "post_filter" not in body
    assert set(body["aggs"]) == {"interests", "format", "provider", "cost"}
    assert body["aggs"]["provider"]["aggs"]["values"]["terms"]["field"] == "provider.raw"
    assert body["aggs"]["interests"]["filter"] == {"bool": {"filter": []}}


def test_search_body_facet_selection_is_post_filter():
    body = body_for(interests=["media"], format=["online"])
    selected = body["post_filter"]["bool"]["filter"]
    assert {"terms": {"interests": ["media"]}} in selected
    assert {"terms": {"format": ["online"]}} in selected
    # A facet's counts ignore its own selection, but not the others'.
    assert body["aggs"]["interests"]["filter"]["bool"]["filter"] == [
        {"terms": {"format": ["online"]}}]
    assert body["aggs"]["cost"]["filter"]["bool"]["filter"] == selected
    assert {"terms": {"interests": ["media"]}} not in query_filters(body)


def test_search_body_facets_off():
    assert "aggs" not in body_for(facets=False)


def test_search_body_cursor_becomes_search_after():
    body = body_for(cursor=encode_cursor("relevance", [1.25, "opp-9"]))
    assert body["search_after"] == [1.25, "opp-9"]
    assert body["size"] == 20
    assert body["track_total_hits"] is True


def test_facet_counts_from_aggregations():
    aggregations = {name: {"values": {"buckets": [{"key": "a", "doc_count": 3}]}}
                    for name in queries.FACETS}
    counts = queries.facet_counts(aggregations)
    assert counts["cost"] == [{"value": "a", "count": 3}]
    assert set(counts) == set(queries.FACETS)


def test_related_body_shares_interests_or_text():
    source = {"id": "opp-1", "interests": ["media"],
              "locations": [{"lat": 41.8, "lon": -87.6}]}
    body = queries.related_body(source, "col-opportunities-chicago_2", 5)
    query = body["query"]["bool"]
    assert query["must_not"] == [{"ids": {"values": ["opp-1"]}}]
    similar = query["must"][0]["bool"]["should"]
    mlt = similar[0]["more_like_this"]
    assert mlt["like"] == [{"_index": "col-opportunities-chicago_2", "_id": "opp-1"}]
    assert {"terms": {"interests": ["media"], "boost": 2.0}} in similar
    feature = query["should"][0]["distance_feature"]
    assert feature["origin"] == {"lat": 41.8, "lon": -87.6}
    assert body["size"] == 5


def test_related_body_online_has_no_distance():
    body = queries.related_body({"id": "opp-1", "interests": [], "locations": []},
                                "index", 5)
    assert "should" not in body["query"]["bool"]
    assert len(body["query"]["bool"]["must"][0]["bool"]["should"]) == 1


def test_autocomplete_body_uses_completion_fields():
    body = queries.autocomplete_body("rob", 5)
    assert body["size"] == 0
    assert body["suggest"]["titles"]["completion"]["field"] == "title_suggest"
    assert body["suggest"]["interests"]["completion"]["skip_duplicates"] is True
    assert body["suggest"]["titles"]["prefix"] == "rob"
