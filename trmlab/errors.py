"""Errors that several layers raise: here, below all of them, so that none imports upwards for one."""


class CheckpointError(RuntimeError):
    """A checkpoint, run folder or exported model folder that is missing, damaged or of another kind."""
