"""``python -m mammocad.features [--markdown]``: print the feature registry."""

import sys

from mammocad.features.registry import _main

sys.exit(_main())
