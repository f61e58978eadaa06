"""Housekeeping: forget what nobody will come back for.

- configurations never ordered and not touched for ``configuration_age``
  (default :data:`DEFAULT_CONFIGURATION_AGE`): abandoned carts and share links;
  configurations an order points at are kept for as long as the order;
- finished idempotency keys past their retry window (``usecases.orders.IDEMPOTENCY_KEY_TTL``);
- workspace sign-ins ended (or started) more than :data:`SESSION_RETENTION` ago.

``c2m cleanup`` runs it once, or every ``--every`` seconds (a cron job or a
systemd timer running ``c2m cleanup`` does the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from usecases.orders import forget_expired_keys
from usecases.records import ConfigurationRecord, OrderRecord, UserSession

DEFAULT_CONFIGURATION_AGE = timedelta(days=30)
"""Unordered configurations untouched this long are deleted."""
SESSION_RETENTION = timedelta(days=30)
"""Workspace sign-ins are forgotten this long after they ended (or began)."""


@dataclass(frozen=True, slots=True)
class CleanupReport:
    configurations: int
    idempotency_keys: int
    sessions: int


def clean_up(
    session: Session, *, configuration_age: timedelta = DEFAULT_CONFIGURATION_AGE, now: datetime | None = None
) -> CleanupReport:
    """Delete stale configurations, idempotency keys and sign-ins; commits."""
    moment = now or datetime.now(UTC)
    ordered = select(OrderRecord.configuration_id).where(OrderRecord.configuration_id.is_not(None))
    configurations = session.execute(
        delete(ConfigurationRecord).where(
            ConfigurationRecord.updated_at < moment - configuration_age,
            ConfigurationRecord.id.not_in(ordered),
        )
    )
    cutoff = moment - SESSION_RETENTION
    sessions = session.execute(
        delete(UserSession).where(
            or_(UserSession.revoked_at < cutoff, UserSession.created_at < moment - 12 * SESSION_RETENTION)
        )
    )
    session.commit()
    keys = forget_expired_keys(session, now=moment)
    return CleanupReport(
        configurations=int(getattr(configurations, "rowcount", 0) or 0),
        idempotency_keys=keys,
        sessions=int(getattr(sessions, "rowcount", 0) or 0),
    )
