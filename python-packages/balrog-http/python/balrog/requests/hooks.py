"""The hook system: ``hooks={"response": callable or [callables]}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HOOKS = ["response"]

__all__ = ["HOOKS", "default_hooks", "dispatch_hook"]


def default_hooks() -> dict[str, list[Callable[..., Any]]]:
    return {event: [] for event in HOOKS}


def dispatch_hook(key: str, hooks: Any, hook_data: Any, **kwargs: Any) -> Any:
    """Run the hooks registered for ``key``; a hook returning non-None replaces the data."""
    hooks = hooks or {}
    found = hooks.get(key)
    if found:
        if callable(found):
            found = [found]
        for hook in found:
            result = hook(hook_data, **kwargs)
            if result is not None:
                hook_data = result
    return hook_data
