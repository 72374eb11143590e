"""Text clean-up for imported rows: HTML, broken characters, e-mail addresses, URLs.

Each cleaner returns the cleaned value and a list of ``Repair`` entries, so the
caller can turn every change that alters the meaning or wording of a value into
a row warning.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import NamedTuple
from urllib.parse import urlsplit

REPLACEMENT_CHAR = "\ufffd"

# Excel writes a carriage return inside a cell as the escape _x000D_.
EXCEL_CR_ESCAPE = "_x000D_"

# Paragraph-like tags start and end a line; list items and rows only start one.
BLOCK_TAGS = frozenset("p div ul ol h1 h2 h3 h4 h5 h6 table section hr pre".split())
LINE_TAGS = frozenset({"br", "li", "tr"})
SKIPPED_TAGS = frozenset({"script", "style"})

EMAIL_PATTERN = re.compile(r"(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A mailto: link whose address was already scrubbed upstream, as in 'mailto:""'.
MAILTO_REMNANT = re.compile(r"mailto:\S*")
EMAIL_PLACEHOLDER = "(e-mail address removed)"

# "host.tld/path" written without a scheme, as in "www.afterschoolmatters.org".
SCHEMELESS_URL = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\.?(/\S*)?$")

# UTF-8 text that was decoded as Windows-1252 shows "â€" plus one character
# for each of the curly quotes, dashes and the ellipsis. Some sources lost the
# "â", and the byte 0x9D (closing double quote) has no Windows-1252 character,
# so it arrived as U+FFFD.
MOJIBAKE_PUNCTUATION = {
    "™": "’",
    "˜": "‘",
    "œ": "“",
    "\x9d": "”",
    REPLACEMENT_CHAR: "”",
    "“": "–",
    "”": "—",
    "¦": "…",
}
PUNCTUATION_MOJIBAKE = re.compile(
    "â?€([" + re.escape("".join(MOJIBAKE_PUNCTUATION)) + "])"
)


def _cp1252_continuation_chars() -> str:
    """Return what Windows-1252 shows for the UTF-8 continuation bytes 0x80-0xBF.

    The five bytes Windows-1252 leaves undefined stay as the same code point.
    """
    chars = []
    for byte in range(0x80, 0xC0):
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars)


CP1252_CONTINUATION = _cp1252_continuation_chars()
# Two-byte UTF-8 letters (á, ñ, é …) decoded as Windows-1252: "Ã¡", "Ã±".
LETTER_MOJIBAKE = re.compile("[ÂÃ][" + re.escape(CP1252_CONTINUATION) + "]")
REPLACEMENT_RUN = re.compile(REPLACEMENT_CHAR + "+")


class Repair(NamedTuple):
    """One change a cleaner made: a snake_case code and a plain sentence."""

    code: str
    message: str


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in SKIPPED_TAGS:
            self.skip_depth += 1
        elif tag in BLOCK_TAGS or tag in LINE_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """Return the text content of an HTML fragment, with entities unescaped.

    Block-level tags become line breaks; ``script`` and ``style`` content is
    dropped. Text without markup passes through with only entities unescaped.
    """
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return "".join(extractor.parts)


def normalise_whitespace(text: str, keep_paragraphs: bool) -> str:
    """Collapse runs of spaces; keep at most one blank line if ``keep_paragraphs``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not keep_paragraphs:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    joined = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


def repair_mojibake(text: str) -> tuple[str, int]:
    """Undo UTF-8 read as Windows-1252 for punctuation and accented letters.

    Returns the text and the number of sequences replaced. Only "Â" or "Ã"
    followed by a continuation character counts as a broken letter, so the
    repair covers U+0080 to U+00FF (Latin-1 letters and signs).
    """
    count = 0

    def punctuation(match: re.Match) -> str:
        nonlocal count
        count += 1
        return MOJIBAKE_PUNCTUATION[match.group(1)]

    def letter(match: re.Match) -> str:
        nonlocal count
        lead, continuation = match.group(0)
        lead_byte = 0xC2 if lead == "Â" else 0xC3
        continuation_byte = 0x80 + CP1252_CONTINUATION.index(continuation)
        count += 1
        return bytes([lead_byte, continuation_byte]).decode("utf-8")

    text = PUNCTUATION_MOJIBAKE.sub(punctuation, text)
    text = LETTER_MOJIBAKE.sub(letter, text)
    return text, count


def repair_replacement_chars(text: str) -> tuple[str, int]:
    """Replace runs of U+FFFD: with ’ between two letters, else remove them.

    The sources lost curly apostrophes ("children���s"), quotes, bullets and
    trademark signs this way, and only the apostrophe can be recognised by its
    position. Returns the text and the number of runs changed.
    """
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        count += 1
        start, end = match.span()
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        if before.isalpha() and after.isalpha():
            return "’"
        return ""

    return REPLACEMENT_RUN.sub(replace, text), count


def remove_emails(text: str) -> tuple[str, int]:
    """Replace e-mail addresses with a placeholder and drop empty mailto: links.

    Returns the text and the number of addresses and links changed.
    """
    text, addresses = EMAIL_PATTERN.subn(EMAIL_PLACEHOLDER, text)
    text, remnants = MAILTO_REMNANT.subn("", text)
    return text, addresses + remnants


def repair_characters(text: str) -> tuple[str, list[Repair]]:
    """Apply the mojibake, U+FFFD and e-mail repairs, reporting each kind once."""
    repairs: list[Repair] = []
    text, mojibake = repair_mojibake(text)
    if mojibake:
        repairs.append(
            Repair(
                "mojibake_repaired",
                f"{mojibake} character sequence(s) were UTF-8 read as "
                "Windows-1252 and were decoded again.",
            )
        )
    text, replaced = repair_replacement_chars(text)
    if replaced:
        repairs.append(
            Repair(
                "replacement_char_repaired",
                f"{replaced} run(s) of U+FFFD were replaced with an apostrophe "
                "between letters or removed elsewhere.",
            )
        )
    text, emails = remove_emails(text)
    if emails:
        repairs.append(
            Repair(
                "email_removed",
                f"{emails} e-mail address(es) or mailto: link(s) were removed.",
            )
        )
    return text, repairs


def clean_line(value: str) -> tuple[str, list[Repair]]:
    """Clean a one-line value such as a title or a name."""
    text, repairs = repair_characters(value)
    return normalise_whitespace(text, keep_paragraphs=False), repairs


def clean_description(value: str) -> tuple[str, list[Repair]]:
    """Turn an HTML or plain-text description into plain text with paragraphs."""
    text = value.replace(EXCEL_CR_ESCAPE, "\n")
    if "<" in text or "&" in text:
        text = strip_html(text)
    text, repairs = repair_characters(text)
    return normalise_whitespace(text, keep_paragraphs=True), repairs


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut ``text`` to ``max_chars`` at a word boundary where one is close."""
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = cut.rfind(" ")
    if space > max_chars * 0.8:
        cut = cut[:space]
    return cut.rstrip(), True


def clean_url(value: str) -> tuple[str | None, list[Repair]]:
    """Return an http(s) URL or None; never keep an e-mail address.

    A value like ``www.example.org/path`` gets ``http://`` prepended, because
    the sources wrote web addresses without a scheme; that is reported.
    """
    text = value.strip()
    if not text:
        return None, []
    if "@" in text:
        return None, [
            Repair("url_contains_email", "URL contains an e-mail address; dropped.")
        ]
    if SCHEMELESS_URL.match(text):
        return "http://" + text, [
            Repair("url_scheme_added", "URL had no scheme; http:// was added.")
        ]
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or "." not in parts.netloc:
        return None, [Repair("url_not_http", "URL is not an http(s) address; dropped.")]
    if any(char.isspace() for char in text):
        return None, [Repair("url_not_http", "URL contains spaces; dropped.")]
    # Lowercase only the scheme: paths and queries can be case-sensitive.
    return parts.scheme.lower() + text[len(parts.scheme) :], []
