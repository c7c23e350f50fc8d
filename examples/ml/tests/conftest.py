"""The model tests' sizes come from MODEL_MB (the largest model, default 1500 MiB); the light tests run first,
the memory-heavy ones last."""
import pytest
import torch

from tinyml.memory import MIB, PeakRSS, mem_available, model_mb


def pytest_report_header(config):
    return [f"tinyml: MODEL_MB={model_mb()}, MemAvailable {mem_available() // MIB} MiB, "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads"]


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker("model") is not None)


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


@pytest.fixture
def resident():
    """Yields a function that asserts the code run in it made the process's resident peak grow by at least
    70% of the given size: a model test that claims N MiB really takes them."""
    def check(target_bytes, run):
        with PeakRSS() as peak:
            result = run()
        assert peak.grown >= 0.7 * target_bytes, \
            f"resident peak grew by {peak.grown // MIB} MiB, expected about {target_bytes // MIB} MiB"
        return result
    return check
