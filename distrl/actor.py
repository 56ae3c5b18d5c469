"""``python -m distrl.actor``: an external actor that trains through a distrl service.

The program lives in :mod:`distrl.service.actor` (it speaks gRPC, which only ``service/``
imports); this module is its command-line entry point.
"""

from __future__ import annotations

import sys

from distrl.service.actor import build_parser, main, run_actor

__all__ = ["build_parser", "main", "run_actor"]

if __name__ == "__main__":
    sys.exit(main())
