"""Plan stubs: building blocks that move or read devices but never open a run."""
