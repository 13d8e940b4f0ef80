"""The domain: directory, enrollment store, answers, policy, throttle, audit.

Nothing here imports Textual (tests/unit/test_import_hygiene.py proves it), and
nothing here keeps a password or an answer beyond the call that received it.
"""
