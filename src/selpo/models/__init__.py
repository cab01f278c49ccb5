"""ORM tables, one module per table; importing this package registers them all on ``Base``."""

from selpo.models.district import District
from selpo.models.hub import Hub
from selpo.models.marketplace import Marketplace
from selpo.models.marketplace_connection import MarketplaceConnection
from selpo.models.network_version import NetworkVersion
from selpo.models.post_office import PostOffice
from selpo.models.region import Region
from selpo.models.settlement import Settlement

__all__ = [
    "District",
    "Hub",
    "Marketplace",
    "MarketplaceConnection",
    "NetworkVersion",
    "PostOffice",
    "Region",
    "Settlement",
]
