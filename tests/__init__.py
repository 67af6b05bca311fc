"""cloudmap's test suite (a package, so `tests.emulators` imports from anywhere)."""
