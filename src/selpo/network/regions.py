"""Which region a code or a name means, and its data as a ``RegionSource``.

The seam between the commands and the region data: ``load_source("33")`` or
``load_source("ivanovo")`` gives what ``network.importer.import_region`` loads, from the national
reference shipped in the package and the region's curated manifest where it has one
(``network.reference``); ``default_region()`` the region imported when none is named;
``marketplace_seeds()`` the national marketplaces (``region_data/marketplaces.toml``).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic.config import JsonDict

from selpo.errors import DomainError
from selpo.network import manifest, reference
from selpo.network.sources import MarketplaceSeed, RegionInfo, RegionSource


def known_regions() -> list[RegionInfo]:
    """Every region a source can be loaded for, by code."""
    return sorted(reference.region_infos(), key=lambda info: info.code)


def find_region(code_or_name: str) -> RegionInfo:
    """The region with this code, slug or name; ``UnknownRegion`` otherwise."""
    return reference.find_region(code_or_name)


def default_region(named: str | None = None) -> RegionInfo:
    """The region a command imports when it is given none.

    ``named`` (``SELPO_DEFAULT_REGION``: a code, slug or name) when set; unset, the region whose
    curated manifest ships in the package (``region_data/<slug>/region.toml``), or the one
    marked ``default = true`` when several do (``NoDefaultRegion`` when that picks none).
    """
    if named:
        return find_region(named)
    return find_region(manifest.default_manifest().code)


def load_source(code_or_name: str) -> RegionSource:
    """The data of one region, ready for ``import_region``."""
    return reference.load_region_source(code_or_name)


def marketplace_seeds() -> list[MarketplaceSeed]:
    """The national marketplaces an import creates when they are missing."""
    return list(manifest.marketplace_seeds())


def data_example(name: str) -> object | None:
    """The default region's example ``name`` (its manifest's ``[examples]``; the region's code
    and zone as ``region`` and ``timezone``), or None when the package singles out no region."""
    try:
        chosen = manifest.default_manifest()
    except DomainError:
        return None
    if name == "region":
        return chosen.code
    if name == "timezone":
        return chosen.timezone
    return chosen.examples.get(name)


def schema_example(name: str) -> Callable[[JsonDict], None]:
    """A ``json_schema_extra`` showing ``data_example(name)`` as the OpenAPI example (when the
    schema is made), so the examples are the data's, not a module's."""

    def put(schema: JsonDict) -> None:
        value = data_example(name)
        if value is not None:
            schema["examples"] = [value]  # type: ignore[list-item]

    return put
