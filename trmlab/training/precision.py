"""Moved to `trmlab.precision` (below evaluation, which autocasts too); these names stay importable here."""
from ..precision import autocast, compile_networks, keep_freed_memory, pick_device  # noqa: F401
