"""HTML descriptions: sanitised with nh3 on the way in, plus a plain-text copy.

A partner may write a description in HTML. Only ``description_html``, the output of
``nh3.clean`` with the tags and attributes below, is stored, never the input.
``description`` contains its plain text, which search indexes and plain clients show.
"""

import html
import re

import nh3

from services.catalog.importing.text import normalise_whitespace, strip_html

ALLOWED_TAGS = frozenset({
    "p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "u", "a", "h3", "h4",
    "blockquote",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"


def sanitise_html(markup: str) -> str:
    """Return ``markup`` with every tag, attribute and URL scheme not allowed removed.

    ``script`` and ``style`` elements are dropped with their content; other
    disallowed tags are unwrapped, keeping their text.
    """
    cleaned = nh3.clean(markup, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                        url_schemes=set(URL_SCHEMES), link_rel=LINK_REL)
    return cleaned.strip()


def html_to_text(markup: str) -> str:
    """Return the text of sanitised HTML: entities unescaped, one blank line at most."""
    return normalise_whitespace(strip_html(markup), keep_paragraphs=True)


def text_to_html(text: str) -> str:
    """Return plain text as escaped HTML paragraphs, single line breaks as ``<br>``."""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in part.split("\n")) + "</p>"
        for part in paragraphs
    )
