"""Verification (PROTOCOL §2 `[verify]`): the project's own tests and linters run in the
command sandbox on a run's change and on its base, and only the failures the change brought
count. `runner` runs and caches, `parse_tests`/`parse_lint` read the output, `compare`
finds what is new, `report` says it, `propose` suggests commands for `baton doctor`.
"""
