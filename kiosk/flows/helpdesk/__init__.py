"""The helpdesk's flow: one operator session (``session.HelpdeskFlow``).

Not one of Welcome's actions (``FLOWS`` finds no ``Flow`` here): the helpdesk
app starts it. This package stays light to import, since the registry imports
every module of ``kiosk.flows`` when the kiosk starts.
"""
