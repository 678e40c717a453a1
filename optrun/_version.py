"""The package version (level 0, so every layer can record it without importing the package)."""

__version__ = "0.2.0.dev0"
