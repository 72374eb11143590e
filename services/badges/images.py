"""Badge images: a generated default, checks on uploaded images, baking and unbaking.

Baking follows the Open Badges specifications. In a PNG the token goes into an
``iTXt`` chunk after ``IHDR``, with the keyword ``openbadges`` (OB 2.0) or
``openbadgecredential`` (OB 3.0). In an SVG it goes into the ``verify``
attribute of an ``openbadges:assertion`` (OB 2.0) or ``openbadges:credential``
(OB 3.0) element, the first child of the root.
"""

import base64
import binascii
import hashlib
import io
import re
import zlib
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape

import png
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from defusedxml.minidom import parseString

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB2_KEYWORD = b"openbadges"
OB3_KEYWORD = b"openbadgecredential"
OB2_SVG_NAMESPACE = "http://openbadges.org"
OB3_SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

MAX_IMAGE_BYTES = 1024 * 1024
MAX_TEXT_BYTES = 256 * 1024
DEFAULT_SIZE = 128

# Elements and attributes that could run code when an SVG is opened in a browser.
ACTIVE_SVG_ELEMENTS = {
    "script",
    "foreignobject",
    "iframe",
    "embed",
    "object",
    "handler",
    "use",
}


class ImageError(ValueError):
    """An image is not a well-formed PNG or SVG, or carries no baked badge."""


def image_type(data: bytes) -> str | None:
    """Return ``"png"``, ``"svg"`` or ``None`` for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        return "svg"
    return None


def _colour(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    # Keep each channel in 40..200 so white text stays readable on it.
    return tuple(40 + value * 160 // 255 for value in digest[:3])


def default_png(seed: str, size: int = DEFAULT_SIZE) -> bytes:
    """Draw a round badge in a colour derived from ``seed`` (a badge class id)."""
    red, green, blue = _colour(seed)
    centre, radius = (size - 1) / 2, size / 2 - 2
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            distance = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
            if distance <= radius - 8:
                row += bytes((red, green, blue, 255))
            elif distance <= radius:
                row += bytes((255, 255, 255, 255))
            else:
                row += bytes((0, 0, 0, 0))
        rows.append(row)
    output = io.BytesIO()
    png.Writer(size, size, greyscale=False, alpha=True).write(output, rows)
    return output.getvalue()


def default_svg(seed: str, name: str, size: int = DEFAULT_SIZE) -> bytes:
    """Draw the same round badge as ``default_png`` as an SVG, with initials."""
    red, green, blue = _colour(seed)
    initials = "".join(word[0] for word in re.findall(r"[A-Za-z0-9]+", name)[:3])
    half = size // 2
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">'
        f'<circle cx="{half}" cy="{half}" r="{half - 2}" fill="#ffffff"/>'
        f'<circle cx="{half}" cy="{half}" r="{half - 10}" '
        f'fill="rgb({red},{green},{blue})"/>'
        f'<text x="{half}" y="{half + 10}" font-family="sans-serif" font-size="30" '
        f'text-anchor="middle" fill="#ffffff">{escape(initials.upper())}</text>'
        "</svg>"
    ).encode()


def svg_wrapping_png(png_bytes: bytes, size: int = DEFAULT_SIZE) -> bytes:
    """Return an SVG that shows a PNG, so a PNG badge image can be baked as SVG."""
    encoded = base64.b64encode(png_bytes).decode()
    return (
        f'<svg xmlns="{SVG_NAMESPACE}" width="{size}" height="{size}">'
        f'<image width="{size}" height="{size}" '
        f'href="data:image/png;base64,{encoded}"/></svg>'
    ).encode()


def decode_data_uri(value: str) -> tuple[str, bytes]:
    """Decode a ``data:image/png;base64,...`` or ``data:image/svg+xml;base64,...`` URI.

    Returns (``"png"`` or ``"svg"``, bytes). Raises ``ImageError`` for another
    media type, bad base64, or content that is not that kind of image.
    """
    match = re.fullmatch(
        r"data:image/(png|svg\+xml);base64,([A-Za-z0-9+/=\s]+)", value.strip()
    )
    if match is None:
        raise ImageError(
            "must be a data URI of the form "
            "data:image/png;base64,... or data:image/svg+xml;base64,..."
        )
    try:
        data = base64.b64decode(match.group(2), validate=False)
    except binascii.Error as exc:
        raise ImageError(f"is not valid base64 ({exc})") from exc
    kind = "png" if match.group(1) == "png" else "svg"
    check_image(data, kind)
    return kind, data


def check_image(data: bytes, kind: str) -> None:
    """Raise ``ImageError`` unless ``data`` is a well-formed, inert ``kind`` image."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"is larger than {MAX_IMAGE_BYTES} bytes")
    if image_type(data) != kind:
        raise ImageError(f"is not a {kind.upper()} image")
    if kind == "png":
        _png_chunks(data)
    else:
        _check_svg_inert(_parse_svg(data))


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    try:
        return [
            (bytes(kind), bytes(body)) for kind, body in png.Reader(bytes=data).chunks()
        ]
    except (png.Error, ValueError, EOFError) as exc:
        raise ImageError(f"is not a well-formed PNG ({exc})") from exc


def _parse_svg(data: bytes):
    try:
        root = SafeElementTree.fromstring(data)
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise ImageError(f"is not well-formed SVG ({exc})") from exc
    if root.tag not in (f"{{{SVG_NAMESPACE}}}svg", "svg"):
        raise ImageError("has no <svg> root element")
    return root


def _local_name(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _check_svg_inert(root) -> None:
    for element in root.iter():
        if _local_name(element.tag) in ACTIVE_SVG_ELEMENTS:
            raise ImageError(
                f"contains a <{_local_name(element.tag)}> element; "
                "badge SVGs may not embed scripts or other documents"
            )
        for attribute, value in element.attrib.items():
            name = _local_name(attribute)
            if name.startswith("on"):
                raise ImageError(f"has an event handler attribute {name!r}")
            if name in ("href", "src") and not (
                value.startswith("#")
                or value.startswith("data:image/png")
                or value.startswith("data:image/jpeg")
            ):
                raise ImageError(
                    f"links to {value[:60]!r}; only in-document "
                    "references and embedded PNG or JPEG images are "
                    "allowed"
                )


def bake_png(image: bytes, token: str, keyword: bytes = OB2_KEYWORD) -> bytes:
    """Return the PNG with ``token`` in an uncompressed ``iTXt`` chunk after ``IHDR``.

    Any chunk already carrying either Open Badges keyword is removed first, so
    baking a baked image replaces its badge instead of adding a second one.
    """
    chunks = [chunk for chunk in _png_chunks(image) if not _is_badge_chunk(chunk)]
    # keyword, NUL, compression flag 0, method 0, empty language tag, NUL,
    # empty translated keyword, NUL, then the UTF-8 text.
    body = keyword + b"\x00\x00\x00\x00\x00" + token.encode()
    baked = [chunks[0], (b"iTXt", body), *chunks[1:]]
    output = io.BytesIO()
    png.write_chunks(output, baked)
    return output.getvalue()


def _is_badge_chunk(chunk: tuple[bytes, bytes]) -> bool:
    kind, body = chunk
    if kind not in (b"iTXt", b"tEXt", b"zTXt"):
        return False
    keyword = body.split(b"\x00", 1)[0]
    return keyword in (OB2_KEYWORD, OB3_KEYWORD)


def unbake_png(image: bytes) -> tuple[str, str]:
    """Return (``"ob2"`` or ``"ob3"``, token) from a baked PNG.

    Reads ``iTXt`` (compressed or not) and ``tEXt`` chunks. Raises ``ImageError``
    when the PNG is malformed or carries no badge.
    """
    for kind, body in _png_chunks(image):
        if kind == b"iTXt":
            found = _parse_itxt(body)
        elif kind == b"tEXt":
            keyword, _, text = body.partition(b"\x00")
            found = (keyword, text)
        else:
            continue
        if found and found[0] in (OB2_KEYWORD, OB3_KEYWORD):
            standard = "ob2" if found[0] == OB2_KEYWORD else "ob3"
            return standard, found[1].decode("utf-8", errors="strict")
    raise ImageError(
        "the PNG carries no Open Badges iTXt chunk "
        "('openbadges' or 'openbadgecredential')"
    )


def _parse_itxt(body: bytes) -> tuple[bytes, bytes] | None:
    keyword, separator, rest = body.partition(b"\x00")
    if not separator or len(rest) < 2:
        return None
    compressed, rest = rest[0], rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, MAX_TEXT_BYTES)
        except zlib.error as exc:
            raise ImageError(f"the iTXt chunk is not valid zlib data ({exc})") from exc
        if inflater.unconsumed_tail:
            raise ImageError(f"the iTXt text inflates past {MAX_TEXT_BYTES} bytes")
    return keyword, text


def bake_svg(image: bytes, token: str, standard: str = "ob2") -> bytes:
    """Return the SVG with ``token`` in the badge element's ``verify`` attribute."""
    _check_svg_inert(_parse_svg(image))
    try:
        document = parseString(image)
    except (DefusedXmlException, ExpatError) as exc:
        raise ImageError(f"is not well-formed SVG ({exc})") from exc
    root = document.documentElement
    for name in ("openbadges:assertion", "openbadges:credential"):
        for old in list(root.getElementsByTagName(name)):
            old.parentNode.removeChild(old)
    if standard == "ob3":
        element_name, namespace = "openbadges:credential", OB3_SVG_NAMESPACE
    else:
        element_name, namespace = "openbadges:assertion", OB2_SVG_NAMESPACE
    root.setAttribute("xmlns:openbadges", namespace)
    element = document.createElementNS(namespace, element_name)
    element.setAttribute("verify", token)
    root.insertBefore(element, root.firstChild)
    return document.toxml(encoding="utf-8")


def unbake_svg(image: bytes) -> tuple[str, str]:
    """Return (``"ob2"`` or ``"ob3"``, token) from a baked SVG.

    Takes the ``verify`` attribute, or the element's text when the attribute is
    absent (a hosted OB 2.0 assertion may be baked as JSON text).
    """
    root = _parse_svg(image)
    for namespace, local, standard in (
        (OB2_SVG_NAMESPACE, "assertion", "ob2"),
        (OB3_SVG_NAMESPACE, "credential", "ob3"),
    ):
        element = root.find(f".//{{{namespace}}}{local}")
        if element is None:
            continue
        token = element.get("verify") or (element.text or "").strip()
        if token:
            return standard, token
    raise ImageError(
        "the SVG carries no openbadges:assertion or openbadges:credential element"
    )


def unbake(image: bytes) -> tuple[str, str]:
    """Return (standard, token) from a baked PNG or SVG; raise ``ImageError``."""
    if len(image) > MAX_IMAGE_BYTES:
        raise ImageError(f"the image is larger than {MAX_IMAGE_BYTES} bytes")
    kind = image_type(image)
    if kind == "png":
        return unbake_png(image)
    if kind == "svg":
        return unbake_svg(image)
    raise ImageError("the upload is neither a PNG nor an SVG image")
