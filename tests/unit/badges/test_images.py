import base64
import io
import zlib

import openbadges_bakery
import png
import pytest

from services.badges import images


def test_png_bake_round_trip():
    baked = images.bake_png(images.default_png("bc-1"), "a.b.c")
    assert images.unbake(baked) == ("ob2", "a.b.c")


def test_png_baked_by_reference_bakery_reads_back():
    baked = images.bake_png(images.default_png("bc-1"), "a.b.c")
    assert openbadges_bakery.unbake(io.BytesIO(baked)) == "a.b.c"


def test_png_rebake_replaces_old_badge():
    once = images.bake_png(images.default_png("bc-1"), "old.old.old")
    twice = images.bake_png(once, "new.new.new", images.OB3_KEYWORD)
    chunks = [kind for kind, _ in png.Reader(bytes=twice).chunks() if kind == b"iTXt"]
    assert len(chunks) == 1
    assert images.unbake(twice) == ("ob3", "new.new.new")


def test_png_compressed_itxt_is_read():
    text = zlib.compress(b"x.y.z")
    body = b"openbadges\x00\x01\x00\x00\x00" + text
    chunks = list(png.Reader(bytes=images.default_png("bc-1")).chunks())
    output = io.BytesIO()
    png.write_chunks(output, [chunks[0], (b"iTXt", body), *chunks[1:]])
    assert images.unbake(output.getvalue()) == ("ob2", "x.y.z")


def test_svg_bake_round_trip_both_standards():
    svg = images.default_svg("bc-1", "Robot Club")
    assert images.unbake(images.bake_svg(svg, "a.b.c")) == ("ob2", "a.b.c")
    assert images.unbake(images.bake_svg(svg, "d.e.f", "ob3")) == ("ob3", "d.e.f")


def test_svg_baked_readable_by_reference_bakery():
    baked = images.bake_svg(images.default_svg("bc-1", "Robot Club"), "a.b.c")
    assert openbadges_bakery.unbake(io.BytesIO(baked)) == "a.b.c"


def test_unbaked_image_is_rejected():
    with pytest.raises(images.ImageError, match="no Open Badges"):
        images.unbake(images.default_png("bc-1"))


@pytest.mark.parametrize(
    "svg, message",
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "script",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
            "event handler",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://x.test/a.png"/>'
            b"</svg>",
            "links to",
        ),
        (b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>', "well-formed"),
        (b"<html></html>", "SVG"),
    ],
)
def test_unsafe_svg_rejected(svg, message):
    with pytest.raises(images.ImageError, match=message):
        images.check_image(svg, "svg")


def test_data_uri_decodes_png():
    data = images.default_png("bc-2")
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    assert images.decode_data_uri(uri) == ("png", data)


def test_data_uri_rejects_mislabelled_image():
    uri = "data:image/png;base64," + base64.b64encode(b"<svg></svg>").decode()
    with pytest.raises(images.ImageError, match="not a PNG"):
        images.decode_data_uri(uri)
