"""Explicit Elasticsearch mappings of the per-city indexes.

Only what the ``integ-test-zip`` distribution's core server has is used: the
``standard`` and ``simple`` analyzers (``analysis-common`` with its stemmers and
``asciifolding`` is not in that distribution), ``geo_point``, range types and the
completion suggester. ``docs/search.md`` explains each field.
"""

# Stored in each opportunity index's ``_meta``. Raise it with every mapping change,
# so ``CityIndexes.upgrade_mapping`` can tell an index built by older code.
MAPPING_VERSION = 2

_TEXT_WITH_RAW = {"type": "text", "analyzer": "standard",
                  "fields": {"raw": {"type": "keyword", "ignore_above": 256}}}

OPPORTUNITY_MAPPING = {
    "dynamic": "strict",
    "_meta": {"mapping_version": MAPPING_VERSION},
    "properties": {
        "id": {"type": "keyword"},
        "city": {"type": "keyword"},
        "status": {"type": "keyword"},
        "version": {"type": "long"},
        "title": _TEXT_WITH_RAW,
        "description": {"type": "text", "analyzer": "standard"},
        "provider": _TEXT_WITH_RAW,
        "location_names": {"type": "text", "analyzer": "standard"},
        "interests": {"type": "keyword"},
        "skills": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "languages": {"type": "keyword"},
        "accessibility": {"type": "keyword"},
        "accessibility_notes": {"type": "text", "analyzer": "standard"},
        "format": {"type": "keyword"},
        "locations": {"type": "geo_point"},
        "ages": {"type": "integer_range"},
        "sessions": {"type": "date_range", "format": "strict_date"},
        "registration": {"type": "date_range", "format": "strict_date"},
        "start_date": {"type": "date", "format": "strict_date"},
        "free": {"type": "boolean"},
        "cost": {"type": "keyword"},
        "cost_label": {"type": "keyword"},
        "title_suggest": {"type": "completion", "analyzer": "simple"},
        "interest_suggest": {"type": "completion", "analyzer": "simple"},
        # The catalog's document as published, returned as the search result.
        "document": {"type": "object", "enabled": False},
    },
}

SITE_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "city": {"type": "keyword"},
        "organization_id": {"type": "keyword"},
        "organization": _TEXT_WITH_RAW,
        "kind": {"type": "keyword"},
        "name": {"type": "text", "analyzer": "standard"},
        "address": {"type": "text", "analyzer": "standard"},
        "site_type": {"type": "keyword"},
        "status": {"type": "keyword"},
        "location": {"type": "geo_point"},
        "version": {"type": "long"},
    },
}

# One primary shard per city: the largest real city (Dallas, about 6,000
# opportunities) takes about 5 MB. docs/search.md gives the reasoning.
INDEX_SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}
