"""Alerting, one package: what fires, how it reads, how it is sent exactly once.

kinds            the alert kinds, declared once (`KINDS`: the page's name for each), and `Alert`
rules            pure threshold rules: pools, key budgets, unclassified models, unmapped keys; `plan`
budget_forecast  pure: a key on track to exceed its monthly dollar budget
anomaly          pure: the leaked-key rules (spend spikes, dormant keys waking, new models)
anomaly_inputs   what the anomaly rules read from the rollups
messages         rendering: one renderer per kind (`RENDERERS`), the SNS envelope, `StoredMessage`
digest_messages  the weekly/monthly digest rendered in the same envelope
publisher        SNS, one attempt per publish; the `alerts test` message
engine           after a collection: evaluate, record in the ledger, deliver (`run_alerts`)

The ledger's persistence is chalicelib.store.alerts'; the API's view of it chalicelib.query.alerts'.
Nothing is imported here, so `import chalicelib.alerts.kinds` (the API Lambda) stays light.
"""
