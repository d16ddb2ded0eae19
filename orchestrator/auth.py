"""Token authentication for the in-process Ray cluster that ``archbench sweep --local`` starts."""

from __future__ import annotations

import os
import secrets


def local_token_auth() -> None:
    """Keep Ray's token authentication on for a local cluster without writing ``~/.ray/auth_token``.

    Ray 2.5x turns token auth on for a new local cluster and saves a generated token in the user's
    home. A token in the environment, inherited by every Ray process this driver starts, protects
    the cluster the same way and leaves the home alone. Ray reads the mode once, when it is first
    imported: call this before ``import ray``. Settings the user made are kept.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    os.environ["RAY_AUTH_MODE"] = "token"
    if "RAY_AUTH_TOKEN" not in os.environ and "RAY_AUTH_TOKEN_PATH" not in os.environ:
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
