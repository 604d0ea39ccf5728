"""Jurisdiction codes: ISO 3166-1 alpha-2 countries and the regions that contain them."""

from __future__ import annotations

from collections.abc import Iterable

EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "HU",
    ]
)
EEA = EU | {"IS", "LI", "NO"}
REGIONS: dict[str, frozenset[str]] = {"EU": EU, "EEA": EEA}


def jurisdiction_normalise(code: str) -> str:
    return code.strip().upper()


def jurisdiction_within(code: str, allowed: Iterable[str]) -> bool:
    """True when data living in ``code`` lives inside one of ``allowed`` (a region covers its members)."""
    code = jurisdiction_normalise(code)
    for area in allowed:
        area = jurisdiction_normalise(area)
        if code == area or code in REGIONS.get(area, ()):
            return True
        # A region is within another region when all its members are (EU within EEA).
        if code in REGIONS and area in REGIONS and REGIONS[code] <= REGIONS[area]:
            return True
    return False


def jurisdiction_zone(code: str, zones: Iterable[str] = ("EU",)) -> str:
    """The transfer zone a jurisdiction belongs to: moving data inside one zone is not a transfer."""
    code = jurisdiction_normalise(code)
    for zone in zones:
        if jurisdiction_within(code, [zone]):
            return jurisdiction_normalise(zone)
    return code
