"""``python -m verifiers list`` / ``python -m verifiers verify NAME --input items.jsonl``."""

import sys

from verifiers.cli import main

if __name__ == "__main__":  # worker processes re-import this module under another name
    sys.exit(main())
