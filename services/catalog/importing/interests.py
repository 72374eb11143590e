"""Interests of an opportunity: from a category column, or derived by keywords."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .exceptions import MappingError
from .mapping import SourceMapping


@dataclass(frozen=True)
class InterestRule:
    """A pattern that, found in a title or description, gives one interest."""

    interest: str
    pattern: re.Pattern


class InterestMatcher:
    """Map a source category or free text to slugs of the interest vocabulary.

    ``category_interests`` maps a category name to a slug. ``interest_rules``
    is a list of ``{interest, patterns}``; the patterns are regular expressions,
    matched case-insensitively as whole words (inside ``\b`` boundaries).
    """

    def __init__(self, mapping: SourceMapping, vocabulary: list[str]):
        self.vocabulary = vocabulary
        self.order = {slug: index for index, slug in enumerate(vocabulary)}
        self.categories: dict[str, str] = dict(mapping.rule("category_interests") or {})
        self.rules = [
            InterestRule(
                entry["interest"],
                re.compile(
                    r"\b(?:" + "|".join(entry["patterns"]) + r")\b", re.IGNORECASE
                ),
            )
            for entry in mapping.rule("interest_rules") or []
        ]
        used = set(self.categories.values()) | {rule.interest for rule in self.rules}
        unknown = used - set(vocabulary)
        if unknown:
            raise MappingError(
                f"{mapping.path}: interest slug(s) {sorted(unknown)} are not in "
                "interests.json"
            )

    @property
    def derives(self) -> bool:
        """True if this source's interests come from keyword rules."""
        return bool(self.rules)

    def for_category(self, category: str) -> str | None:
        return self.categories.get(category.strip())

    def derive(self, *texts: str) -> list[str]:
        """Return the interests whose patterns occur in any of ``texts``."""
        found = {
            rule.interest
            for rule in self.rules
            if any(rule.pattern.search(text) for text in texts)
        }
        return self.sort(found)

    def sort(self, slugs: set[str] | list[str]) -> list[str]:
        """Return unique slugs in vocabulary order."""
        return sorted(set(slugs), key=self.order.__getitem__)
