"""The use cases of the configurator, free of any web framework.

What the storefront, the REST API, the manufacturer workspace and the ``c2m``
command line all do goes through here; ``web`` only translates requests and
responses.

- :mod:`usecases.catalogs`: the catalog version in force (one repository),
  content-addressed caches of parsed content and compiled configurators,
  product listings.
- :mod:`usecases.configurations`: saved configurations (create, decide, undo,
  explain, repair, complete, share) and the rendering of a state.
- :mod:`usecases.orders`: placing orders, the production order lifecycle
  (acknowledge, start, ship, ...), listings and the changes feed.
- :mod:`usecases.publishing`: checks and publishing of the same content hash.
- :mod:`usecases.records`, :mod:`usecases.outbox`: persistence of what the
  use cases own and the transactional outbox of webhook events.

Use cases take a SQLAlchemy session and return plain values; they raise
errors with a stable ``reason`` (:class:`usecases.errors.UseCaseError` and the
domain errors below) and never know HTTP: ``web.errors`` maps reasons to
status codes in one table.
"""
