"""OpenAPI examples of the planning API: a scenario asked for and its stored answer (a real
run on the bundled data, its lists trimmed)."""

from __future__ import annotations

from typing import Any

PLAN_CREATE: dict[str, Any] = {
    "name": "3 more offices",
    "kind": "connect",
    "marketplace": "OZON",
    "add": 3,
    "radius_km": 10,
    "solver": "auto",
    "time_limit_s": 10,
}

PLAN_CREATE_NATIONAL: dict[str, Any] = {
    "name": "Russia: 5,000 more offices",
    "national": True,
    "kind": "connect",
    "marketplace": "OZON",
    "add": 5000,
    "radius_km": 10,
    "time_limit_s": 20,
}

PLAN_CREATE_EXAMPLES: dict[str, Any] = {
    "region": {
        "summary": "One region (may be left out when the database holds one)",
        "value": PLAN_CREATE,
    },
    "national": {
        "summary": "The whole country: every region imported (or `regions`: a list of codes)",
        "value": PLAN_CREATE_NATIONAL,
    },
}

PLAN: dict[str, Any] = {
    "region": "37",
    "regions": ["37"],
    "national": False,
    "by_region": [],
    "demand_localities": 2366,
    "kind": "connect",
    "status": "optimal",
    "method": "exact",
    "objective": 816652.0,
    "bound": 816652.0,
    "gap": 0.0,
    "covered_before": 799528.0,
    "covered_after": 816652.0,
    "total_population": 927828.0,
    "share_before": 0.8617200601835685,
    "share_after": 0.8801760671158878,
    "uncovered": [
        {
            "name": "Каменка",
            "district": "Вичугский район",
            "population": 3689.0,
            "distance_km": 17.076,
        },
        {"name": "Талицы", "district": "Южский район", "population": 3393.0, "distance_km": 24.783},
        {
            "name": "Ильинское-Хованское",
            "district": "Ильинский район",
            "population": 3092.0,
            "distance_km": 49.109,
        },
        {"name": "Лух", "district": "Лухский район", "population": 2572.0, "distance_km": 38.974},
        {
            "name": "Колобово",
            "district": "Шуйский район",
            "population": 2387.0,
            "distance_km": 19.208,
        },
        {
            "name": "Новописцово",
            "district": "Вичугский район",
            "population": 2322.0,
            "distance_km": 17.938,
        },
        {
            "name": "Новые Горки",
            "district": "Лежневский район",
            "population": 2098.0,
            "distance_km": 14.811,
        },
        {
            "name": "Плес",
            "district": "Приволжский район",
            "population": 1896.0,
            "distance_km": 21.401,
        },
        {
            "name": "Верхний Ландех",
            "district": "Верхнеландеховский район",
            "population": 1633.0,
            "distance_km": 19.936,
        },
        {
            "name": "Куликово",
            "district": "Ивановский район",
            "population": 1386.0,
            "distance_km": 12.973,
        },
    ],
    "chosen": [
        {
            "index": "155020",
            "name": "Петровский",
            "newly_covered": 5966.0,
            "exclusive": 5966.0,
            "cost_rub": 1800000.0,
        },
        {
            "index": "155134",
            "name": "Бутово",
            "newly_covered": 5625.0,
            "exclusive": 5625.0,
            "cost_rub": 1200000.0,
        },
        {
            "index": "155611",
            "name": "Лужки",
            "newly_covered": 5533.0,
            "exclusive": 5533.0,
            "cost_rub": 1200000.0,
        },
    ],
    "seconds": 0.1409972100000232,
    "parameters": {
        "region": "37",
        "add": 3,
        "budget_rub": None,
        "radius_km": 10.0,
        "solver": "auto",
        "seed": 0,
    },
    "reduction": {
        "demand_before": 2366,
        "demand_after": 445,
        "candidates_before": 281,
        "candidates_after": 179,
        "demand_settled_by_fixed": 535,
        "demand_unreachable": 132,
        "demand_zero_weight": 0,
        "demand_aggregated": 1254,
        "candidates_useless": 86,
        "candidates_twins": 1,
        "candidates_dominated": 15,
        "candidates_unaffordable": 0,
        "seconds": 0.015397417000031055,
    },
    "extra": {
        "bound_method": "mip",
        "spent_rub": 0.0,
        "filled_by_distance": 0,
        "places_with_estimated_population": 2334,
        "population_without_location": 0,
    },
    "id": 1,
    "name": "3 more offices",
    "created_at": "2026-11-25T09:00:00Z",
}
