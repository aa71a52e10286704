"""The convolution engine behind ``convgrad.ops``: how the fast algorithms are chosen and
configured. ``settings`` holds every switch of the engine in one context-local value."""

from .settings import Settings, current, settings

__all__ = ["Settings", "current", "settings"]
