"""Key identities: everything the tracker knows about who a key id is, in one place.

model     the records: KeyMapping (what a person said), Directory* (what OpenAI lists), UnmappedKey,
          KeyIdentity (what is shown), Budget
resolve   pure name resolution: mappings + directory -> identities, any key id -> its identity, a raw
          key -> its directory entry
validate  the rules for what a person (CLI or API) may say about a key: ids, names, texts, budgets,
          raw keys, key-id filters
sync      the directory sync from OpenAI, and when the collector should run it

Persistence is chalicelib.store.directory's (MAP, DIR and UNMAPPED items, the codec derived from these
records). The package imports nothing here on purpose: each caller imports the module it needs.
"""
