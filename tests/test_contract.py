from cloudmap.testing import StoreContract


class TestStores(StoreContract):
    """The store contract, run over every provider by the `store` fixture."""
