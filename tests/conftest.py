import os

# Every node Ray starts in the tests must report 127.0.0.1: without this, Ray on this machine
# rewrites 127.0.0.1 to the network interface's address.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
