"""The products a new shop starts with."""

from __future__ import annotations

import logging
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import Product

logger = logging.getLogger(__name__)

PRODUCTS = [
    {
        "sku": "TEA-1",
        "name": "Sencha green tea",
        "description": "Steamed Japanese green tea, grassy and fresh. 100 g.",
        "price": Decimal("12.80"),
        "image": "products/leaf.svg",
    },
    {
        "sku": "TEA-2",
        "name": "Assam breakfast tea",
        "description": "Malty black tea that takes milk well. 250 g.",
        "price": Decimal("9.50"),
        "image": "products/leaf.svg",
    },
    {
        "sku": "TEA-3",
        "name": "Darjeeling first flush",
        "description": "Light, flowery spring picking from the hills. 100 g.",
        "price": Decimal("18.90"),
        "image": None,
    },
    {
        "sku": "TEA-4",
        "name": "Rooibos vanilla",
        "description": "Caffeine-free red bush with vanilla pieces. 150 g.",
        "price": Decimal("7.20"),
        "image": None,
    },
    {
        "sku": "POT-1",
        "name": "Cast iron tea pot",
        "description": "Keeps tea hot for an hour. Holds 0.8 l, strainer included.",
        "price": Decimal("45.00"),
        "image": "products/pot.svg",
    },
    {
        "sku": "CUP-1",
        "name": "Stoneware cups, set of two",
        "description": "Hand-glazed cups without handles, 150 ml each.",
        "price": Decimal("24.00"),
        "image": "products/cup.svg",
    },
]


def seed() -> None:
    """Add the starting products to an empty catalogue; otherwise do nothing."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Product)):
        return

    db.session.add_all(Product(**product) for product in PRODUCTS)

    # Another process (the worker) may have seeded at the same moment.
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    else:
        logger.info("Seeded the catalogue with %d products", len(PRODUCTS))
