"""Explicit Elasticsearch mappings of the per-city indexes.

Only what the ``integ-test-zip`` distribution's core server has is used: the
``standard`` analyzer (``analysis-common`` with its stemmers and ``asciifolding`` is
not in that distribution), ``geo_point``, range types and the completion suggester.
"""

OPPORTUNITY_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "city": {"type": "keyword"},
        "status": {"type": "keyword"},
        "version": {"type": "long"},
        "title": {"type": "text", "analyzer": "standard",
                  "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
        "title_suggest": {"type": "completion", "analyzer": "simple"},
        "description": {"type": "text", "analyzer": "standard"},
        "provider": {"type": "text", "analyzer": "standard",
                     "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
        "interests": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "format": {"type": "keyword"},
        "locations": {"type": "geo_point"},
        "location_names": {"type": "text", "analyzer": "standard"},
        "ages": {"type": "integer_range"},
        "dates": {"type": "date_range", "format": "strict_date"},
        "start_date": {"type": "date", "format": "strict_date"},
        "free": {"type": "boolean"},
        "cost_label": {"type": "keyword"},
        "document": {"type": "object", "enabled": False},
    },
}

SITE_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "city": {"type": "keyword"},
        "organization_id": {"type": "keyword"},
        "organization": {"type": "text", "analyzer": "standard",
                         "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
        "kind": {"type": "keyword"},
        "name": {"type": "text", "analyzer": "standard"},
        "address": {"type": "text", "analyzer": "standard"},
        "site_type": {"type": "keyword"},
        "status": {"type": "keyword"},
        "location": {"type": "geo_point"},
        "version": {"type": "long"},
    },
}

INDEX_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}
