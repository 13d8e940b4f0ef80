"""The kiosk's flows: one per action, in Welcome's order.

``FLOWS`` is the one registry: every module of this package that defines a
``Flow`` with an ``action`` is in it, ordered by ``Flow.order``. Welcome
offers the ones switched on (``Flow.enabled``, by default
``features.<action>``), worded by ``welcome.<action>``; the app starts the
chosen one. Adding an action = one flow module here + its screens + its texts
(+ its backend use case).
"""

from __future__ import annotations

import importlib
import pkgutil

from kiosk.flows.base import Flow, FlowHost


def _discover() -> dict[str, type[Flow]]:
    found: list[type[Flow]] = []
    for module in pkgutil.iter_modules(__path__):
        namespace = vars(importlib.import_module(f"{__name__}.{module.name}"))
        found += [
            flow
            for flow in namespace.values()
            if isinstance(flow, type) and issubclass(flow, Flow) and flow.action and flow.__module__ == namespace["__name__"]
        ]
    return {flow.action: flow for flow in sorted(found, key=lambda flow: (flow.order, flow.action))}


FLOWS: dict[str, type[Flow]] = _discover()

__all__ = ["FLOWS", "Flow", "FlowHost"]
