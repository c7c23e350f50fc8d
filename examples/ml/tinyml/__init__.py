"""Models built in the test, sized in MiB of parameters, gradients and activations (no downloaded weights)."""
