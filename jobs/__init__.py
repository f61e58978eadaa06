"""Background jobs on Dramatiq (Redis broker): the adapter between the job engine and the use cases.

- :mod:`jobs.engine` builds the broker from the environment and declares the actors on it;
- :mod:`jobs.actors` holds what each job does (a thin call into :mod:`usecases`);
- :mod:`jobs.sweeper` is the worker-side thread that turns due outbox rows into delivery jobs;
- :mod:`jobs.status` reads what is queued, running and failed, for ``c2m jobs`` and the workspace;
- :mod:`jobs.worker` is the module the ``dramatiq`` command line loads (``c2m worker`` runs it).

The outbox table stays the source of truth for webhooks: a lost message only
delays an event until its lease runs out and the sweeper sends it again.
"""
