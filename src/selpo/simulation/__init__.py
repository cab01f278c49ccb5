"""Capability 8: demand from settlement populations, run through the real services on a
virtual clock, with KPIs."""
