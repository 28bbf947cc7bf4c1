"""``python -m coloring MATRIX.mtx --problem star --order smallest_last``.

See :mod:`coloring._cli`.
"""
import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
