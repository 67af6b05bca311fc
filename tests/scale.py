"""How hard the reliability tests push: a CI scale, and the issue's full scale.

`pytest --stress` selects `STRESS`; without it, `CI` keeps the suite fast on a
2-core machine running every emulator.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Sizes of the concurrency, crash, model-based and large-value tests."""

    name: str
    processes: int
    threads: int
    increments: int
    creators: int
    tasks: int
    task_workers: int
    crash_rounds: int
    model_examples: int
    model_examples_emulator: int
    large_value_mb: int

    @property
    def total_increments(self) -> int:
        """The value the shared counter must end at."""
        return self.processes * self.threads * self.increments


CI = Scale(
    name="ci",
    processes=2,
    threads=4,
    increments=10,
    creators=32,
    tasks=60,
    task_workers=4,
    crash_rounds=20,
    model_examples=60,
    model_examples_emulator=10,
    large_value_mb=40,
)

STRESS = Scale(
    name="stress",
    processes=4,
    threads=8,
    increments=25,
    creators=32,
    tasks=500,
    task_workers=8,
    crash_rounds=200,
    model_examples=1000,
    model_examples_emulator=100,
    large_value_mb=200,
)
