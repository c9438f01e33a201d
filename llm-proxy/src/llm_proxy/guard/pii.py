"""Personal data as the `pii` check sees it: each entity's finder and its prefilter.

The order is priority: where two entities claim the same characters, the first keeps them,
so a card number is not also a phone number and a key that holds an @ is a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from llm_proxy.guard import cards, email, iban, ip_address, national_id, phone, secrets, ssn
from llm_proxy.guard.text import Text

Finder = Callable[[Text], Iterator[tuple[int, int]]]

FINDERS: dict[str, tuple[Finder, bytes]] = {
    secrets.ENTITY: (secrets.find, secrets.PREFILTER),
    cards.ENTITY: (cards.find, cards.PREFILTER),
    iban.ENTITY: (iban.find, iban.PREFILTER),
    national_id.ENTITY: (national_id.find, national_id.PREFILTER),
    ssn.ENTITY: (ssn.find, ssn.PREFILTER),
    email.ENTITY: (email.find, email.PREFILTER),
    ip_address.ENTITY: (ip_address.find, ip_address.PREFILTER),
    phone.ENTITY: (phone.find, phone.PREFILTER),
}
