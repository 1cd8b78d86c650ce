"""The instrument catalogue: instruments as data, loaded and validated at start-up.

Pure code: nothing here imports Flask, SQLAlchemy or WTForms, so the catalogue can
be loaded by tests, scripts and the scorer without an application.
"""

from pro_app.catalog.loader import load_catalog, load_instrument
from pro_app.catalog.schema import (
    KNOWN_KINDS,
    KNOWN_METHODS,
    Catalog,
    CatalogError,
    Instrument,
    InstrumentText,
    Item,
    ResponseSet,
    Scale,
    version_key,
)

__all__ = [
    "KNOWN_KINDS",
    "KNOWN_METHODS",
    "Catalog",
    "CatalogError",
    "Instrument",
    "InstrumentText",
    "Item",
    "ResponseSet",
    "Scale",
    "load_catalog",
    "load_instrument",
    "version_key",
]
