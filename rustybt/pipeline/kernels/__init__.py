"""Numba-jitted window kernels: pure functions over F-ordered (dates x assets) float64 arrays."""
