# Copyright (c) 2026 cloudmap developers. Licensed under the MIT License.
pytest_plugins = ["tests.emulator_fixtures"]
