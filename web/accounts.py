"""Workspace accounts: Flask-Login sessions, argon2id password hashes, roles.

Roles, each including the one below it:

- ``viewer``: reads everything in the workspace (catalogs, checks, test bench, orders);
- ``editor``: also uploads, edits, publishes and archives catalogs;
- ``admin``: also manages users.

Anonymous visitors asking for a workspace page are sent to the login page;
anonymous form posts get 401, and a signed-in user without the role gets 403.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import Flask, abort, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from usecases.records import User, UserSession

ROLES = ("viewer", "editor", "admin")
"""Roles from least to most powerful."""

F = TypeVar("F", bound=Callable[..., Any])

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()


# Verifying against this when the e-mail is unknown keeps login timing the same either way.
@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the e-mail is unknown (computed on first use, not at import)."""
    return _hasher.hash("not a password")


login_manager = LoginManager()


class AccountError(ValueError):
    """A user cannot be created or changed as asked (message says why)."""


@dataclass(frozen=True, slots=True)
class Account(UserMixin):  # type: ignore[misc]
    """The signed-in user for one request (a plain value, not an ORM row)."""

    user_id: int
    email: str
    role: str
    session_id: str = ""
    """The server-side sign-in this request belongs to (see :class:`usecases.records.UserSession`)."""

    def get_id(self) -> str:
        return f"{self.user_id}:{self.session_id}"

    def can(self, role: str) -> bool:
        """True when this account's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``.

    >>> hash_password("correct horse").startswith("$argon2id$")
    True
    """
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, email: str, password: str, role: str) -> User:
    """Add a user (not committed). Raises :class:`AccountError` on a bad role, e-mail or password."""
    email = normalize_email(email)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"{email!r} is not an e-mail address")
    if len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    if session.scalars(select(User).where(func.lower(User.email) == email)).first() is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        active=True,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> Account | None:
    """The account for these credentials, or ``None`` (unknown e-mail, wrong password, inactive)."""
    user = session.scalars(select(User).where(func.lower(User.email) == normalize_email(email))).first()
    if user is None:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return Account(user.id, user.email, user.role)


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(session: Session, account: Account) -> Account:
    """Record a new sign-in of ``account`` (committed); returns the account carrying its session id."""
    session_id = secrets.token_urlsafe(32)
    session.add(UserSession(id_hash=_session_hash(session_id), user_id=account.user_id, created_at=datetime.now(UTC)))
    session.commit()
    return Account(account.user_id, account.email, account.role, session_id)


def end_session(session: Session, account: Account) -> None:
    """Revoke the sign-in of ``account`` (signing out): its cookie opens nothing any more."""
    row = session.get(UserSession, _session_hash(account.session_id)) if account.session_id else None
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.commit()


def revoke_sessions(session: Session, user_id: int) -> int:
    """Revoke every sign-in of a user (not committed); returns how many were open."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_password(session: Session, user: User, password: str) -> None:
    """Change a user's password and revoke all their sign-ins (not committed).

    :raise AccountError: the password is too short.
    """
    if len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    user.password_hash = hash_password(password)
    revoke_sessions(session, user.id)


def _load(cookie_id: str) -> Account | None:
    """The account of a session cookie, when its server-side sign-in is still open."""
    from web import database

    user_id, _, session_id = cookie_id.partition(":")
    if not user_id.isdigit() or not session_id:
        return None  # also every cookie from before sessions were recorded
    db = database.session()
    row = db.get(UserSession, _session_hash(session_id))
    if row is None or row.revoked_at is not None or row.user_id != int(user_id):
        return None
    user = db.get(User, int(user_id))
    if user is None or not user.active:
        return None
    return Account(user.id, user.email, user.role, session_id)


def _unauthorized() -> Any:
    # Pages send people to the login form; a form post or other write is simply refused.
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    abort(401)


def require_role(role: str) -> Callable[[F], F]:
    """Decorator: the view needs a signed-in user whose role includes ``role``."""
    if role not in ROLES:
        raise ValueError(role)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return _unauthorized()
            if not current_user.can(role):
                abort(403, f"this needs the {role} role; you are signed in as {current_user.role}")
            return view(*args, **kwargs)

        wrapper._c2m_role = role  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load)
    login_manager.unauthorized_handler(_unauthorized)
