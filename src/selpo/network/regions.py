"""Which region a code or a name means, and its data as a ``RegionSource``.

The seam between the commands and the region data: ``load_source("33")`` or
``load_source("ivanovo")`` gives what ``network.importer.import_region`` loads, from the national
reference shipped in the package and the region's curated manifest where it has one
(``network.reference``); ``marketplace_seeds()`` the national marketplaces
(``region_data/marketplaces.toml``).
"""

from __future__ import annotations

from pathlib import Path

from selpo.network import bundled, manifest, reference
from selpo.network.sources import MarketplaceSeed, RegionInfo, RegionSource


def known_regions() -> list[RegionInfo]:
    """Every region a source can be loaded for, by code."""
    return sorted(reference.region_infos(), key=lambda info: info.code)


def find_region(code_or_name: str) -> RegionInfo:
    """The region with this code, slug or name; ``UnknownRegion`` otherwise."""
    return reference.find_region(code_or_name)


def load_source(code_or_name: str) -> RegionSource:
    """The data of one region, ready for ``import_region``."""
    return reference.load_region_source(code_or_name)


def marketplace_seeds() -> list[MarketplaceSeed]:
    """The national marketplaces an import creates when they are missing."""
    return list(manifest.marketplace_seeds())


def load_folder(directory: Path) -> RegionSource:
    """The data of the region in a folder: a region folder of the package (with its
    ``region.toml`` manifest) from the reference by its name, its slug; any other folder as an
    old-style bundle (``network.bundled``: ``post_offices.csv``, ``settlements.csv`` ...)."""
    if (directory / "region.toml").is_file():
        return load_source(directory.name)
    return bundled.bundle_region_source(directory)
