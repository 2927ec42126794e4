from tests.support.cloudlab import make_lab  # noqa: F401 - the emulated tenant fixture
