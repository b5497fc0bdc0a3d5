"""`openclaw.json`: typed sections (sections.py) and their render per release (render.py)."""

from components.openclaw_json.render import TELEGRAM_ACCOUNT, build_openclaw_json, placeholder, secret_value
from components.openclaw_json.sections import GATEWAY_TOKEN_ENV, TELEGRAM_TOKEN_ENV, OpenClawJson, SecretRef

__all__ = ["GATEWAY_TOKEN_ENV", "TELEGRAM_ACCOUNT", "TELEGRAM_TOKEN_ENV", "OpenClawJson", "SecretRef",
           "build_openclaw_json", "placeholder", "secret_value"]
