"""Development tools shared by the test suite, ``scripts/`` and ``benchmarks/``.

Not part of the ``cloudmap`` distribution (the wheel ships ``cloudmap`` only).
Nothing here imports ``tests``, so scripts run without the test tree.
"""
