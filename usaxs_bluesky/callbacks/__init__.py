"""Callbacks: document routers and the file writing behind them (facility paths, HDF5 columns)."""
