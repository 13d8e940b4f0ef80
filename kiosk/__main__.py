"""``python -m kiosk``: what the launcher runs. Interrupted at any moment, even
while the modules load, it ends quietly (status 130): never a traceback."""

try:
    from kiosk.cli import main

    status = main()
except KeyboardInterrupt:
    status = 130
raise SystemExit(status)
