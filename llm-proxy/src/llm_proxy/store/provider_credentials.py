"""Provider keys given to the admin API: sealed into `provider_credentials`, opened for the
registry. A key is stored only when the gateway has its secret key (`store.vault`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.config.models import STORED_SECRET
from llm_proxy.store.models import ProviderCredential, new_id
from llm_proxy.store.vault import Vault, VaultError, shown


def store_credential(session: AsyncSession, vault: Vault, plaintext: str) -> ProviderCredential:
    """A new sealed credential; its reference (`secret:cred_…`) goes into the backend."""
    credential_id = new_id("cred")
    row = ProviderCredential(
        id=credential_id,
        ciphertext=vault.seal(credential_id, plaintext),
        key_id=vault.key_id,
        last4=shown(plaintext),
    )
    session.add(row)
    return row


def reference(row: ProviderCredential) -> str:
    return STORED_SECRET + row.id


def credential_ids(references: Iterable[str | None]) -> set[str]:
    return {r.removeprefix(STORED_SECRET) for r in references if r and r.startswith(STORED_SECRET)}


async def described(session: AsyncSession, ids: Iterable[str]) -> dict[str, ProviderCredential]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(
        select(ProviderCredential).where(ProviderCredential.id.in_(wanted))
    )
    return {row.id: row for row in rows}


async def open_credentials(
    session: AsyncSession, vault: Vault | None, ids: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """The plaintext of each credential id, and one line per credential that cannot be opened."""
    rows = await described(session, ids)
    opened: dict[str, str] = {}
    problems: list[str] = []
    for credential_id in sorted(set(ids)):
        row = rows.get(credential_id)
        if row is None:
            problems.append(f"{STORED_SECRET}{credential_id}: no such stored credential")
        elif vault is None:
            problems.append(f"{STORED_SECRET}{credential_id}: the gateway's secret key is not set")
        else:
            try:
                opened[credential_id] = vault.open(row.id, row.key_id, row.ciphertext)
            except VaultError as exc:
                problems.append(f"{STORED_SECRET}{credential_id}: {exc}")
    return opened, problems
