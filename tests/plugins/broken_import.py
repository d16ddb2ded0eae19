"""A broken test plugin: it imports a module that does not exist."""

import archbench_no_such_module  # noqa: F401
