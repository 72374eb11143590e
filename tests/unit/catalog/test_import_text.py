"""Text repairs, on snippets copied from the source files."""

from __future__ import annotations

import pytest

from services.catalog.importing.text import (
    clean_description,
    clean_line,
    clean_url,
    repair_mojibake,
    repair_replacement_chars,
    truncate,
)

R = "\ufffd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"What{R * 3}s a Kid to Do?", "What’s a Kid to Do?"),
        (f"in the Adler{R * 3}s Grainger", "in the Adler’s Grainger"),
        (f"This {R * 3}hands-on{R * 3} program", "This hands-on program"),
        (f"The Zumba{R * 2} activity", "The Zumba activity"),
        (f"{R * 3} Be Chicago resident", " Be Chicago resident"),
        (f"pause for paws. {R * 2}", "pause for paws. "),
    ],
)
def test_replacement_chars_repaired(text, expected):
    repaired, count = repair_replacement_chars(text)
    assert repaired == expected
    assert count >= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Itâ€™s fun", "It’s fun"),
        ("â€œroving â€\x9d", "“roving ”"),
        # The 2019-2021 Dallas file lost the "â" and the closing byte 0x9D.
        (f"€œroving €{R} characters", "“roving ” characters"),
        ("the past. €” Then", "the past. — Then"),
        ("seÃ±or, ENERGÃ\x8dAS", "señor, ENERGÍAS"),
    ],
)
def test_mojibake_repaired(text, expected):
    repaired, count = repair_mojibake(text)
    assert repaired == expected
    assert count >= 1


def test_mojibake_leaves_clean_text():
    text = "Café “quoted” – 50€ fee"
    assert repair_mojibake(text) == (text, 0)


def test_description_html_becomes_text():
    source = (
        "<p>Now that you&#39;ve become a <strong>money ninja</strong></p>"
        "_x000D__x000D_<ul><li>one</li><li>two</li></ul>"
    )
    text, repairs = clean_description(source)
    assert text == "Now that you've become a money ninja\n\none\ntwo"
    assert repairs == []


def test_description_mailto_link_removed():
    text, repairs = clean_description(
        'Write to <a href="mailto:someone@example.org">us</a> or mailto:"">.'
    )
    assert "mailto" not in text
    assert "@" not in text
    assert [repair.code for repair in repairs] == ["email_removed"]


def test_line_whitespace_collapsed():
    assert clean_line("  CPS  Virtual\tLearning \n") == ("CPS Virtual Learning", [])


@pytest.mark.parametrize(
    ("value", "url", "code"),
    [
        (
            "https://numindsenrichment.com/cp/",
            "https://numindsenrichment.com/cp/",
            None,
        ),
        ("HTTPS://BeyondtheBall.net", "https://BeyondtheBall.net", None),
        (
            "www.afterschoolmatters.org",
            "http://www.afterschoolmatters.org",
            "url_scheme_added",
        ),
        (
            "dallasisd.org/summerlearning",
            "http://dallasisd.org/summerlearning",
            "url_scheme_added",
        ),
        ("mailto:someone@example.org", None, "url_contains_email"),
        ("https://www.summer@EDEC.com", None, "url_contains_email"),
        ("ftp://example.org/file", None, "url_not_http"),
        ("see website", None, "url_not_http"),
        ("", None, None),
    ],
)
def test_url_cleaned(value, url, code):
    cleaned, repairs = clean_url(value)
    assert cleaned == url
    assert [repair.code for repair in repairs] == ([code] if code else [])


def test_truncate_cuts_at_word():
    text, cut = truncate("alpha beta gamma delta", 12)
    assert cut
    assert text == "alpha beta"
