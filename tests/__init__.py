"""cloudmap's test suite (a package, so its plugins import as `tests.*` from anywhere)."""
