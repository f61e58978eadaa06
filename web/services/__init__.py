"""Application services shared by the REST API and the storefront.

- :mod:`web.services.catalogs`: published catalogs in force, cached parsed
  content and compiled configurators, product listings.
- :mod:`web.services.configurations`: saved configurations (create, decide,
  undo, explain, repair, complete, share) and the JSON rendering of a state.

Services take a SQLAlchemy session and return plain values; they raise domain
errors with a stable ``reason`` and never know HTTP (``web.errors`` maps them).
"""
