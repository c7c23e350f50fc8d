"""What the machine looks like to a test: the free memory a real ML suite checks before it builds a model, and
the resident memory a model really took (the process's peak, reset before building)."""
import ctypes
import gc
import os

MIB = 1 << 20


def model_mb():
    """The largest model's size in MiB (parameters, gradients and activations): MODEL_MB, 1500 by default."""
    return int(os.environ.get("MODEL_MB", "1500"))


def mem_available():
    """/proc/meminfo's MemAvailable in bytes, what psutil.virtual_memory().available reads too."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/meminfo has no MemAvailable line")


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field} line")


class PeakRSS:
    """with PeakRSS() as p: ...; p.grown is how far the process's resident peak rose above its resident size at
    the start, in bytes. The kernel's peak (VmHWM) is reset at the start through /proc/self/clear_refs, after
    the memory an earlier test freed is given back to the kernel (else a new model could reuse it unseen)."""

    def __enter__(self):
        gc.collect()
        ctypes.CDLL(None).malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")            # reset VmHWM to the current VmRSS
        self.start = _status("VmRSS")
        return self

    def __exit__(self, *exc):
        self.grown = _status("VmHWM") - self.start
        return False


def require_available(nbytes, what):
    """Skips the calling test when MemAvailable is below nbytes, as ML suites guard their big-model tests
    (a "requires N GB free" decorator): on a machine too small the test skips instead of being killed."""
    import pytest
    free = mem_available()
    if free < nbytes:
        pytest.skip(f"{what} needs {nbytes // MIB} MiB free, MemAvailable is {free // MIB} MiB")
