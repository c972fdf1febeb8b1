"""Design-space search over accelerators and networks, with hwloop.sim as the cost oracle.

Built in a later issue; imports only the public ``hwloop.sim`` API.
"""

__all__: list[str] = []
