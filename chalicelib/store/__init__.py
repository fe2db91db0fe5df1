"""The only code that knows the DynamoDB table: one submodule per kind of item.

table      table creation, TTL, paginated queries, batch writes and the I/O counters
rollups    hourly/daily usage detail and aggregates (HD#, DD#, AH#, AD#)
meta       checkpoint, collector lease, backfill progress (META)
directory  manual key mappings (MAP), synced directory (DIR), unmapped keys (UNMAPPED)
directory_snapshot  the DIR items as one compressed snapshot, identity generations (DIRSNAP)
tokens     dashboard/API tokens (TOKEN)
alerts     the alert ledger (ALERT#)
"""

from chalicelib.store.table import TTL_ATTRIBUTE, ensure_table

__all__ = ["TTL_ATTRIBUTE", "ensure_table"]
