"""Exceptions raised by the coloring package."""


class ColoringError(ValueError):
    """A coloring is invalid for its problem, or the input cannot be colored as asked.

    The message names the offending pair of columns (or rows) and the violated property.
    """
