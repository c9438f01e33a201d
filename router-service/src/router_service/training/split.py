"""Train/validation split by question, stable across runs and machines.

A question's hash decides its side, so every turn of a question lands on the same side and
adding data never moves an old question across.
"""

from __future__ import annotations

import hashlib

from router_service.training.data import Item

VALIDATION_FOLDS = 5


def fold_of(item: Item, folds: int = VALIDATION_FOLDS) -> int:
    digest = hashlib.blake2b(f"{item.benchmark}\0{item.question}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") % folds


def is_validation(item: Item) -> bool:
    """One question in five is held out of training."""
    return fold_of(item) == 0
