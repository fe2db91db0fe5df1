"""Deployment scripts: `python -m deploy {deploy,destroy,publish-dashboard,render-config,package}`.

Not deployed to Lambda (Chalice packages only app.py and chalicelib/). Modules, one concern each:

- `names`: stage names and the names derived from them (stack, table, function log groups).
- `target`: which account and region a command will change, the loopback guard and prod confirmation.
- `cfn_yaml`: reads infra/template.yaml (CloudFormation's short-form tags) into plain data.
- `stack`: the infra stack: change sets, waiting, outputs, adopting a retained table, deletion.
- `chalice_config`: stack outputs -> `.chalice/config.json` environment and `.chalice/policy-<stage>.json`.
- `publish`: the dashboard files -> S3 with content types and cache headers, plus a generated config.js.
- `chalice_cmd`: running the chalice CLI and reading what it deployed.
- `packaging`: the single-template variant for teams that deploy through CloudFormation.
- `cli`: argparse and the order the steps run in.
"""
