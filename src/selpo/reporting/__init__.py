"""Read models of the regional dashboard, above the domains: the period's KPIs (``kpi``), the map's
layers (``layers``), the planning scenarios (``plans``) and the simulation runs (``runs``).

They read every domain's tables and import what they need from any domain below; only the
entry points (``web``, ``cli``, ``app``) import them (``tests/test_architecture.py``).
"""
