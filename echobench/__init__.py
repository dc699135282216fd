"""echobench: sync vs async Python web servers, measured against a queueing model."""

__version__ = "0.1.0"
