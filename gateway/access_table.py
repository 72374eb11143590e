"""Print the table of every gateway route and who may call it, as Markdown.

``docs/access.md`` embeds this table; a unit test checks that it matches the
code, so the page cannot drift from the policies the gateway enforces.

    python -m gateway.access_table
"""

import re

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

BEGIN = "<!-- access table: begin -->"
END = "<!-- access table: end -->"


def routes(service_class) -> list[tuple[str, str, object]]:
    """(path, method, policy) of every HTTP route of ``service_class``, by path."""
    found = []
    for name in dir(service_class):
        function = getattr(service_class, name)
        for entrypoint in getattr(function, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
            found.append((path, entrypoint.method, getattr(function, "access", None)))
    return sorted(found, key=lambda route: (route[0], route[1]))


def table(service_class) -> str:
    lines = ["| Method | Path | Policy | Who may call it |", "|---|---|---|---|"]
    for path, method, policy in routes(service_class):
        lines.append(f"| {method} | `{path}` | `{policy.name}` | {policy.summary} |")
    return "\n".join(lines)


def main() -> None:
    from gateway.service import GatewayService
    print(BEGIN)
    print(table(GatewayService))
    print(END)


if __name__ == "__main__":
    main()
