"""Staff accounts, their sign-ins, and the audit list (the staff console, /staff)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from .store_base import StoreBase, _audit, _changed, _masked
from .tables import AuditEntry, StaffAccount


class StaffStore(StoreBase):
    """Accounts and the audit list."""

    # Staff accounts and the audit list (the staff console, /staff) -------------
    #
    # Accounts hold an argon2 hash made by ivr.accounts, never a password. Every change to
    # an account is written with its audit entry in the same transaction.

    def add_staff(
        self,
        email: str,
        role: str,
        password_hash: str,
        at: datetime,
        by: str,
        phone: str | None = None,
    ) -> bool:
        """Add a staff account; False (nothing changed) when the email has one already."""
        with self.session() as s:
            added = self._insert(
                s,
                StaffAccount,
                email=email,
                role=role,
                password_hash=password_hash,
                phone=phone,
                created_at=at,
                failed_logins=0,
            )
            if added:
                s.add(_audit(at, by, "staff-added", note=f"{email} as {role}"))
            return added

    def staff_member(self, email: str) -> StaffAccount | None:
        """The account of this (normalised) email, or None."""
        with self.session(reading=True) as s:
            return s.scalar(select(StaffAccount).where(StaffAccount.email == email))

    def staff_by_id(self, staff_id: int) -> StaffAccount | None:
        """The account with this id, or None (it was removed)."""
        with self.session(reading=True) as s:
            return s.get(StaffAccount, staff_id)

    def staff_members(self) -> list[StaffAccount]:
        """Every staff account, by email."""
        with self.session(reading=True) as s:
            return list(s.scalars(select(StaffAccount).order_by(StaffAccount.email)))

    def remove_staff(self, email: str, at: datetime, by: str) -> bool:
        """Delete a staff account (their audit entries stay); False when there is none."""
        with self.session() as s:
            removed = _changed(s.execute(delete(StaffAccount).where(StaffAccount.email == email)))
            if removed:
                s.add(_audit(at, by, "staff-removed", note=email))
            return removed == 1

    def set_password(self, email: str, password_hash: str, at: datetime, by: str) -> bool:
        """Give an account a new password hash and unlock it; False when there is no account.

        Sessions signed in with the old password end (the console checks the hash).
        """
        with self.session() as s:
            query = (
                update(StaffAccount)
                .where(StaffAccount.email == email)
                .values(password_hash=password_hash, failed_logins=0, locked_until=None)
            )
            if _changed(s.execute(query)) != 1:
                return False
            s.add(_audit(at, by, "password-changed", note=email))
            return True

    def set_staff_phone(self, email: str, phone: str | None, at: datetime, by: str) -> bool:
        """Set (or, with None, remove) the phone an account is rung at to call back as the
        center; audited with the number masked. False when there is no such account."""
        with self.session() as s:
            query = update(StaffAccount).where(StaffAccount.email == email).values(phone=phone)
            if _changed(s.execute(query)) != 1:
                return False
            s.add(_audit(at, by, "phone-changed", note=f"{email}: {_masked(phone)}"))
            return True

    def login_failed(
        self, staff_id: int, at: datetime, failures: int, lock_for: timedelta
    ) -> datetime | None:
        """Count a wrong password; at `failures` in a row, lock the account for `lock_for`.

        Returns when the lock ends, if this failure set one. The row is locked while it is
        counted, so tries in parallel are all counted.
        """
        with self.session() as s:
            account = s.get(StaffAccount, staff_id, with_for_update=True)
            if account is None:
                return None
            s.add(_audit(at, account.email, "login-failed"))
            account.failed_logins += 1
            if account.failed_logins < failures:
                return None
            account.failed_logins = 0
            account.locked_until = at + lock_for
            s.add(_audit(at, account.email, "locked", note=f"after {failures} wrong passwords"))
            return account.locked_until

    def login_succeeded(self, staff_id: int, at: datetime, rehashed: str | None = None) -> None:
        """Note a sign-in: the failure count starts again, and a `rehashed` password is kept."""
        with self.session() as s:
            account = s.get(StaffAccount, staff_id, with_for_update=True)
            if account is None:
                return
            account.failed_logins = 0
            account.locked_until = None
            if rehashed:
                account.password_hash = rehashed
            s.add(_audit(at, account.email, "login"))

    def audit(
        self,
        at: datetime,
        who: str,
        what: str,
        request_id: int | None = None,
        note: str | None = None,
    ) -> None:
        """Add an entry to the audit list."""
        with self.session() as s:
            s.add(_audit(at, who, what, request_id, note))

    def audit_entries(self, most: int = 200) -> list[AuditEntry]:
        """The audit list, newest first."""
        with self.session(reading=True) as s:
            query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            return list(s.scalars(query.limit(most)))
