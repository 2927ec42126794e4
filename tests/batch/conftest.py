from tests.cloud.conftest import make_lab  # noqa: F401 - the emulated tenant fixture
