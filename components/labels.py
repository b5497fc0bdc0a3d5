"""Labels every object carries; `app: openclaw` is the selector contract (FACTS.md)."""

from __future__ import annotations

APP_SELECTOR: dict[str, str] = {"app": "openclaw"}


def common_labels(component: str) -> dict[str, str]:
    """Recommended labels plus the selector label; `component` says which part this object is."""
    return {
        **APP_SELECTOR,
        "app.kubernetes.io/name": "openclaw",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "openclaw",
        "app.kubernetes.io/managed-by": "pulumi",
    }
