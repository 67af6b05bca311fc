# Copyright (c) 2026 cloudmap developers. Licensed under the MIT License.
"""cloudmap's test suite (a package, so `tests.emulators` imports from anywhere)."""
