import pytest

from eegd.models.inference import Classifier


@pytest.fixture(scope="session")
def classifier():
    return Classifier.from_path(None, "cpu")
