"""``python -m kiosk``: what the launcher runs. Interrupted at any moment, even
while the modules load, it ends quietly (status 130): never a traceback. With
a forkserver (``kiosk.forkserver_socket``), a session runs in a fork of it
(``kiosk.attach``)."""

import os
import sys

try:
    from kiosk.attach import attach

    # A kiosk session hands its terminal to the forkserver when there is one.
    status = attach(sys.argv[1:], os.environ)
    if status is None:
        from kiosk.cli import main

        status = main()
except KeyboardInterrupt:
    status = 130
raise SystemExit(status)
