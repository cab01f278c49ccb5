"""Page routers (HTML), one module per screen family."""
