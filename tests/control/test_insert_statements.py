"""The SQLite request-log insert cuts a batch into a few statement sizes (a pure function).

Each distinct row count is a prepared statement the driver keeps, so a size per batch size
grew the gateway's memory with every new batch size it met.
"""

from __future__ import annotations

import pytest
from llm_proxy.store.request_log import _statement_sizes


@pytest.mark.parametrize("most", [1, 5, 37, 64])
def test_every_row_goes_in_statements_of_a_few_sizes(most: int) -> None:
    seen: set[int] = set()
    for rows in range(0, 600):
        sizes = list(_statement_sizes(rows, most))
        assert sum(sizes) == rows
        assert all(0 < size <= most for size in sizes)
        seen.update(sizes)
    assert len(seen) <= most.bit_length() + 1
