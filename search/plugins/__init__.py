"""Plug-ins that ship with hwloop, written against the same interface as a user's
(``hwloop.search._plugins``): ``digits``, the small CNNs on scikit-learn's 8x8 digits."""
