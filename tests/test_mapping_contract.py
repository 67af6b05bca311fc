"""The shipped MappingContract, run over every provider by the `store_factory` fixture."""

from cloudmap.testing import MappingContract


class TestMappings(MappingContract):
    """CloudMapping's semantics table holds on each store."""
