"""Operate the catalog from a shell: onboard, archive or export a city, import data.

    python -m services.catalog.cli onboard --city-file data/cities.json --slug chicago \\
        --admin-email ada@example.org --admin-name "Ada Admin"
    python -m services.catalog.cli archive springfield --export springfield.json
    python -m services.catalog.cli export chicago --output chicago.json
    python -m services.catalog.cli import data/mappings/dallas-col-programs.yml --dry-run

Each command talks to the running catalog service over RabbitMQ (``AMQP_URI``)
through its own standalone ``ClusterRpcProxy``. A proxy is not safe to share
between threads, so a caller that runs commands in threads needs one per thread.
Onboarding with ``--admin-email`` also grants that person the city_admin role in
the identity service, and a person without an account gets an e-mail with a link
to set a password.
Results are printed as JSON; errors go to stderr with exit status 1.
"""

import argparse
import dataclasses
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from nameko.exceptions import RemoteError, RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from cities_common.config import load_settings
from cities_common.errors import PlatformError
from services.catalog.importing import ImportingError, load_source

BATCH_SIZE = 500
EXPORT_PAGE = 1000
RPC_TIMEOUT_SECONDS = 120


@contextmanager
def catalog(city: str | None = None):
    """Yield a proxy to the catalog service, with ``city`` in the context data."""
    config = {"AMQP_URI": load_settings().amqp_uri}
    context = {"city": city} if city else None
    with ClusterRpcProxy(config, context_data=context,
                         timeout=RPC_TIMEOUT_SECONDS) as proxy:
        yield proxy.catalog


def city_request(args) -> dict:
    """Build the onboarding request from a cities file entry and the flags."""
    city = city_from_file(args.city_file, args.slug) if args.city_file \
        else {"slug": args.slug}

    flags = {"name": args.name, "time_zone": args.time_zone,
             "default_locale": args.default_locale,
             "service_area_margin_km": args.margin_km}
    city.update({key: value for key, value in flags.items() if value is not None})
    if args.locales:
        city["locales"] = args.locales.split(",")
    if args.bbox:
        min_lat, min_lon, max_lat, max_lon = args.bbox
        city["bbox"] = {"min_lat": min_lat, "min_lon": min_lon, "max_lat": max_lat,
                        "max_lon": max_lon}
        city.setdefault("centre", {"lat": (min_lat + max_lat) / 2,
                                   "lon": (min_lon + max_lon) / 2})

    branding_flags = {"display_name": args.display_name,
                      "primary_colour": args.primary_colour, "logo_url": args.logo_url}
    branding = {**(city.get("branding") or {}),
                **{key: value for key, value in branding_flags.items()
                   if value is not None}}
    if branding:
        city["branding"] = branding
    if args.admin_email:
        city["admin"] = {"email": args.admin_email, "name": args.admin_name or ""}
    if args.anchor_name:
        city["anchor_organization"] = {"name": args.anchor_name}
    return city


def city_from_file(path: str, slug: str) -> dict:
    """Return the entry ``slug`` of a cities file, without its ``boundary_file``."""
    entries = json.loads(Path(path).read_text(encoding="utf-8"))
    matches = [entry for entry in entries if entry.get("slug") == slug]
    if not matches:
        raise SystemExit(f"error: no city with slug {slug!r} in {path}")
    return {key: value for key, value in matches[0].items() if key != "boundary_file"}


def onboard(args) -> dict:
    """Onboard the city; grant its first admin the city_admin role in identity.

    The result gains ``identity``: the admin's platform account id and, for a
    person without a password yet, the ``setup_token`` that was also e-mailed.
    """
    request = city_request(args)
    with catalog() as rpc:
        result = rpc.onboard_city(request)
    admin = result.get("admin")
    if admin:
        slug = request["slug"]
        config = {"AMQP_URI": load_settings().amqp_uri}
        with ClusterRpcProxy(config, timeout=RPC_TIMEOUT_SECONDS) as proxy:
            result["identity"] = proxy.identity.grant_by_email(
                request["admin"]["email"], slug, "city_admin", slug, admin["id"])
    return result


def export_pages(rpc, slug: str) -> dict:
    """Read every section of a city's export, page by page, into one document."""
    export = rpc.export_city(slug)
    for section in export["sections"]:
        records, after = [], None
        while True:
            page = rpc.export_city(slug, section, after, EXPORT_PAGE)
            records.extend(page["records"])
            after = page["next_after"]
            if after is None:
                break
        export[section] = records
    return export


def write_export(export: dict, path: str) -> dict:
    Path(path).write_text(json.dumps(export, indent=2, ensure_ascii=False),
                          encoding="utf-8")
    return {section: len(export[section]) for section in export["sections"]}


def archive(args) -> dict:
    with catalog() as rpc:
        result = rpc.archive_city(args.slug)
        if args.export:
            result["exported"] = write_export(export_pages(rpc, args.slug), args.export)
            result["export_file"] = args.export
    return result


def export(args) -> dict:
    with catalog() as rpc:
        written = write_export(export_pages(rpc, args.slug), args.output)
    return {"city": args.slug, "exported": written, "export_file": args.output}


def import_source(mapping: str, data_root: str | None, dry_run: bool) -> dict:
    """Import one mapped source through the catalog; return its report."""
    result = load_source(Path(mapping), Path(data_root) if data_root else None)
    report = {**result.summary(), "created": 0, "updated": 0, "unchanged": 0,
              "invalid_documents": [], "dry_run": dry_run,
              "rejected_rows": [dataclasses.asdict(item) for item in result.rejected]}
    with catalog(result.city) as rpc:
        for start in range(0, len(result.documents), BATCH_SIZE):
            batch = result.documents[start:start + BATCH_SIZE]
            outcome = rpc.import_records(result.kind, batch, dry_run)
            for key in ("created", "updated", "unchanged"):
                report[key] += outcome[key]
            report["invalid_documents"] += [
                {"source_id": item["source_id"], "errors": item["errors"]}
                for item in outcome["rejected"]]
    return report


def import_command(args) -> dict:
    reports = [import_source(mapping, args.data_root, args.dry_run)
               for mapping in args.mappings]
    if args.report:
        Path(args.report).write_text(json.dumps(reports, indent=2, ensure_ascii=False),
                                     encoding="utf-8")
    if not args.rejected:
        for report in reports:
            del report["rejected_rows"]
    return {"sources": reports}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m services.catalog.cli",
                                   description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    add = commands.add_parser("onboard", help="onboard a city or update it; idempotent")
    add.add_argument("--slug", required=True, help="city slug, e.g. springfield")
    add.add_argument("--city-file", help="JSON list of cities, such as data/cities.json, "
                                         "to take the city's fields from")
    add.add_argument("--name", help="city name")
    add.add_argument("--time-zone", help="IANA time zone, e.g. America/Chicago")
    add.add_argument("--default-locale", help="en or es")
    add.add_argument("--locales", help="comma-separated supported locales, e.g. en,es")
    add.add_argument("--bbox", type=float, nargs=4,
                     metavar=("MIN_LAT", "MIN_LON", "MAX_LAT", "MAX_LON"),
                     help="bounding box in degrees; the centre defaults to its midpoint")
    add.add_argument("--margin-km", type=float,
                     help="how far outside the box still counts as the city, in km")
    add.add_argument("--display-name", help="branding display name")
    add.add_argument("--primary-colour", help="branding colour as #RRGGBB")
    add.add_argument("--logo-url", help="branding logo URL")
    add.add_argument("--anchor-name", help="anchor organisation name "
                                           "(default: the display name)")
    add.add_argument("--admin-email", help="e-mail of the first city administrator")
    add.add_argument("--admin-name", help="name of the first city administrator")
    add.set_defaults(run=onboard)

    close = commands.add_parser("archive", help="archive a city and export its data")
    close.add_argument("slug")
    close.add_argument("--export", metavar="FILE", help="write the JSON export here")
    close.set_defaults(run=archive)

    dump = commands.add_parser("export", help="write a city's catalog export as JSON")
    dump.add_argument("slug")
    dump.add_argument("--output", required=True, metavar="FILE")
    dump.set_defaults(run=export)

    load = commands.add_parser("import", help="import mapped CSV or JSON sources")
    load.add_argument("mappings", nargs="+", help="mapping files (data/mappings/*.yml)")
    load.add_argument("--data-root", help="folder with cities.json, interests.json and "
                                          "the source files (default: the mapping "
                                          "folder's parent)")
    load.add_argument("--dry-run", action="store_true",
                      help="report what the import would create, update or leave, "
                           "writing nothing")
    load.add_argument("--rejected", action="store_true",
                      help="also print every rejected row")
    load.add_argument("--report", metavar="FILE",
                      help="write the full report, with rejected rows, here")
    load.set_defaults(run=import_command)
    return root


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        result = args.run(args)
    except (PlatformError, ImportingError, RemoteError, RpcTimeout) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
