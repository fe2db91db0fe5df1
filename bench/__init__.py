"""`make bench`: what a collector run, a dashboard view and a month cost at 10, 100 and 1,000 keys.

run         the command: sizes, order, results.json and results.md
collector   backfill, incremental run and directory sync against the simulator and DynamoDB Local
child       one collector run in a fresh interpreter, measured (wall, CPU, peak RSS, calls, I/O)
queries     dashboard requests through chalice.test.Client: DynamoDB work, p50/p95 handler time
frontend    the dashboard's first load in headless Chromium: bytes and requests
coldstart   `import app` vs `import boto3`; the size of `chalice package`'s deployment.zip
instrument  a DynamoDB meter at the botocore boundary, and DynamoDB's item-size rules
costs       the monthly bill from the counts (pure arithmetic, assumptions printed)
report      the targets, their verdicts and results.md
"""
