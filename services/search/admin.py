"""Operator commands for the search indexes.

    python -m services.search.admin rebuild CITY [CITY ...] [--discard-stale]
    python -m services.search.admin resync CITY [CITY ...]
    python -m services.search.admin rebuild --all

``rebuild`` builds a new index of each city from the catalog and swaps the alias to
it, with no downtime. ``resync`` brings the live index back to the catalog's state
in place. Both read AMQP_URI, ES_URL and COL_NAMESPACE from the environment, like
the services, and print one JSON summary per city.
"""

import argparse
import json
import logging
import sys

from elasticsearch import Elasticsearch

from cities_common.config import load_settings
from services.search.indexes import RebuildInProgress
from services.search.maintenance import RpcCatalog, rebuild, resync
from services.search.storage import SearchStore

logger = logging.getLogger("services.search.admin")

# Bulk requests of 1,000 documents can take longer than a query.
ADMIN_TIMEOUT_SECONDS = 60


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m services.search.admin",
        description="Rebuild or resync the search service's per-city indexes.")
    parser.add_argument("command", choices=["rebuild", "resync"])
    parser.add_argument("cities", nargs="*", metavar="CITY",
                        help="city slugs, e.g. dallas")
    parser.add_argument("--all", action="store_true",
                        help="every city the catalog has onboarded")
    parser.add_argument("--discard-stale", action="store_true",
                        help="rebuild only: delete the staging index that an "
                             "interrupted rebuild left, then rebuild")
    args = parser.parse_args(argv)
    if bool(args.cities) == args.all:
        parser.error("name one or more cities, or pass --all")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    client = Elasticsearch(settings.es_url, request_timeout=ADMIN_TIMEOUT_SECONDS,
                           max_retries=2, retry_on_timeout=True)
    store = SearchStore(client, settings.es_prefix())
    catalog = RpcCatalog(settings.amqp_uri)
    cities = catalog.cities() if args.all else args.cities
    failed = 0
    for city in cities:
        try:
            if args.command == "rebuild":
                summary = rebuild(store, catalog, city, args.discard_stale)
            else:
                summary = resync(store, catalog, city)
        except RebuildInProgress as exc:
            logger.error("%s", exc)
            failed += 1
            continue
        except Exception:
            logger.exception("%s of %s failed", args.command, city)
            failed += 1
            continue
        print(json.dumps(summary), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
