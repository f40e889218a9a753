"""Users and roles. Services take the session first; the caller commits."""

from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import User

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing the same for both cases.
_DUMMY_HASH = _hasher.hash("carewatch-no-such-user")


class Role(StrEnum):
    """What a person may do: staff act on alerts, managers also run the site, inspectors only read."""

    STAFF = "staff"
    MANAGER = "manager"
    INSPECTOR = "inspector"
    ADMIN = "admin"


# Roles allowed to change alerts (acknowledge, resolve).
ACTORS = frozenset({Role.STAFF, Role.MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})


def create_user(session: Session, *, username: str, password: str, role: Role, at: datetime,
                display_name: str | None = None, language: str | None = None,
                sites: list[str] | None = None) -> User:
    """Add a user with an argon2 hash of the password; `sites` limits what they see (None: every site)."""
    if not username or len(username) > 64:
        raise ValueError("a username of 1 to 64 characters is needed")
    if len(password) < 8:
        raise ValueError("a password of at least 8 characters is needed")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} exists already")
    user = User(username=username, password_hash=_hasher.hash(password), role=role.value,
                display_name=display_name, language=language, active=True, created_at=at,
                sites=" ".join(sites) if sites else None)
    session.add(user)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None."""
    # PostgreSQL text cannot hold NUL, so no username has one: such a login is wrong, not a database error.
    user = None if "\x00" in username else session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user is not None and user.active else None


def bootstrap_admin(session: Session, spec: str, at: datetime) -> User | None:
    """Create the first admin from `user:password` unless that user exists; returns the new user."""
    username, sep, password = spec.partition(":")
    if not sep or not username or not password:
        raise ValueError("CAREWATCH_BOOTSTRAP_ADMIN must look like user:password")
    if session.scalar(select(User).where(User.username == username)) is not None:
        return None
    return create_user(session, username=username, password=password, role=Role.ADMIN, at=at)
