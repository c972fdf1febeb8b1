"""All ``@njit`` code. Kernels are private, take only arrays and scalars, and are pure."""
