"""The only code that knows the DynamoDB table: one submodule per kind of item (and `answers`, the
only code that knows the views bucket's layout in S3).

table      table creation, TTL, paginated queries, batch writes and the I/O counters
rollups    hourly/daily usage detail and aggregates (HD#, DD#, AH#, AD#)
read_once  a rollup store reading each thing once, for a batch of reads (the collector's answers)
meta       checkpoint, collector lease, backfill progress (META)
directory  manual key mappings (MAP), synced directory (DIR), unmapped keys (UNMAPPED)
directory_snapshot  the DIR items as one compressed snapshot, identity generations (DIRSNAP)
tokens     dashboard/API tokens (TOKEN)
alerts     the alert ledger (ALERT#)
answers    the materialized answers' object of a table (S3, VIEWS_BUCKET)
"""

from chalicelib.store.table import TTL_ATTRIBUTE, ensure_table

__all__ = ["TTL_ATTRIBUTE", "ensure_table"]
