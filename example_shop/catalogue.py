"""The products a new shop starts with."""

from __future__ import annotations

import logging
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import CookingClass, Product

logger = logging.getLogger(__name__)

PRODUCTS = [
    {
        "sku": "TEA-1",
        "name": "Sencha green tea",
        "description": "Steamed Japanese green tea, grassy and fresh. 100 g.",
        "price": Decimal("12.80"),
        "image": "products/leaf.svg",
        "category": "green",
        "rating_average": 4.6,
        "rating_count": 31,
        "review": "Fresh and grassy, my morning cup.",
    },
    {
        "sku": "TEA-2",
        "name": "Assam breakfast tea",
        "description": "Malty black tea that takes milk well. 250 g.",
        "price": Decimal("9.50"),
        "image": "products/leaf.svg",
        "category": "black",
        "rating_average": 4.3,
        "rating_count": 52,
        "review": "Strong enough for a Monday.",
    },
    {
        "sku": "TEA-3",
        "name": "Darjeeling first flush",
        "description": "Light, flowery spring picking from the hills. 100 g.",
        "price": Decimal("18.90"),
        "image": None,
        "category": "black",
        "rating_average": 4.8,
        "rating_count": 12,
        "review": "Flowery and light, worth every cent.",
    },
    {
        "sku": "TEA-4",
        "name": "Rooibos vanilla",
        "description": "Caffeine-free red bush with vanilla pieces. 150 g.",
        "price": Decimal("7.20"),
        "image": None,
        "category": "herbal",
        "rating_average": 4.1,
        "rating_count": 19,
        "review": None,
    },
    {
        "sku": "POT-1",
        "name": "Cast iron tea pot",
        "description": "Keeps tea hot for an hour. Holds 0.8 l, strainer included.",
        "price": Decimal("45.00"),
        "image": "products/pot.svg",
        "category": "teaware",
        "rating_average": 4.7,
        "rating_count": 8,
        "review": "Still hot after an hour.",
    },
    {
        "sku": "CUP-1",
        "name": "Stoneware cups, set of two",
        "description": "Hand-glazed cups without handles, 150 ml each.",
        "price": Decimal("24.00"),
        "image": "products/cup.svg",
        "category": "teaware",
        "rating_average": 4.4,
        "rating_count": 15,
        "review": None,
    },
]


CLASSES = [
    {"name": "Matcha whisking for beginners", "level": "beginner",
     "price": Decimal("45.00"), "seats": 6},
    {"name": "Tea and food pairing", "level": "advanced",
     "price": Decimal("90.00"), "seats": 4},
]


def seed() -> None:
    """Add the starting products and classes to an empty shop; otherwise do
    nothing."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Product)):
        return

    db.session.add_all(Product(**product) for product in PRODUCTS)
    db.session.add_all(CookingClass(**cooking_class) for cooking_class in CLASSES)

    # Another process (the worker) may have seeded at the same moment.
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    else:
        logger.info("Seeded the catalogue with %d products", len(PRODUCTS))
