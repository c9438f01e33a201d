"""The spend log: one record per request, written in batches off the request path.

`writer` batches rows (made by the pipeline's log stage, `pipeline.log`) into the
database, and `spool` keeps them on local disk while the database cannot take them.
"""

from llm_proxy.spend.writer import SpendLog

__all__ = ["SpendLog"]
