"""Which region a code or a name means, and its data as a ``RegionSource``.

The seam between the commands and the region data: ``load_source("33")`` or
``load_source("ivanovo")`` gives what ``network.importer.import_region`` loads. Until
``network.reference`` (the national reference and the curated manifests) lands, the only region
known is the bundled folder, read through ``network.bundled``.
"""

from __future__ import annotations

from pathlib import Path

from selpo.network import bundled
from selpo.network.errors import UnknownRegion
from selpo.network.sources import MarketplaceSeed, RegionInfo, RegionSource


def _matches(info: RegionInfo, value: str) -> bool:
    wanted = value.strip().casefold()
    names = {info.code, info.slug, info.name, info.capital}
    return wanted in {n.casefold() for n in names} or wanted.lstrip("0") == info.code.lstrip("0")


def known_regions() -> list[RegionInfo]:
    """Every region a source can be loaded for, by code."""
    return [bundled.read_manifest().info]


def find_region(code_or_name: str) -> RegionInfo:
    """The region with this code, slug, name or capital; ``UnknownRegion`` otherwise."""
    for info in known_regions():
        if _matches(info, code_or_name):
            return info
    raise UnknownRegion(code_or_name)


def load_source(code_or_name: str, *, bundle_dir: Path) -> RegionSource:
    """The data of one region, ready for ``import_region``."""
    manifest = bundled.read_manifest()
    if not _matches(manifest.info, code_or_name):
        raise UnknownRegion(code_or_name)
    return bundled.bundle_region_source(bundle_dir, manifest)


def marketplace_seeds() -> list[MarketplaceSeed]:
    """The national marketplaces an import creates when they are missing."""
    return list(bundled.read_manifest().marketplaces)
