"""``python -m bench`` (from the project root): run every benchmark, print one combined table (see bench/run.py)."""

import sys

from bench.run import main

sys.exit(main())
