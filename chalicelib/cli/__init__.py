"""The operator's command line: `python -m chalicelib.cli [--json] COMMAND ...`.

main     the parser, the command list and the mapping of errors to exit codes
common   what every command shares: `add_command`, `emit` (text or --json output)
init     create the usage table and the alerts topic (idempotent)
edit     `update-key`: partial edits of a mapping (PATCH /api/keys' code path)
period   `--start/--end` days and `--since` windows, checked and refused in the flags typed

A command is a module with `register(subparsers) -> None`; add it to `main.COMMANDS`.
"""
