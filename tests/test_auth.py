"""The local cluster's token: kept in the environment, never written to the user's home."""

from orchestrator.auth import local_token_auth


def test_a_local_cluster_gets_a_token_in_the_environment(monkeypatch):
    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        # Set, then deleted: monkeypatch then restores the variable's absence, removing what the call sets.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    local_token_auth()
    import os

    assert os.environ["RAY_AUTH_MODE"] == "token" and len(os.environ["RAY_AUTH_TOKEN"]) == 64


def test_the_users_own_settings_are_kept(monkeypatch):
    import os

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "")
    monkeypatch.delenv("RAY_AUTH_TOKEN")
    local_token_auth()
    assert os.environ["RAY_AUTH_MODE"] == "disabled" and "RAY_AUTH_TOKEN" not in os.environ
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.delenv("RAY_AUTH_MODE")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", "/somewhere/token")
    local_token_auth()
    assert os.environ["RAY_AUTH_MODE"] == "token" and "RAY_AUTH_TOKEN" not in os.environ
