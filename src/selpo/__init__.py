"""selpo: marketplace orders to village post offices."""
