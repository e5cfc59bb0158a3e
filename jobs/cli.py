"""``icp jobs ...`` commands (filled in by the jobs work)."""

from __future__ import annotations

import argparse
from typing import Any


def add_job_commands(sub: Any) -> None:
    """Register the ``icp jobs`` sub-commands on ``sub``."""
    parser: argparse.ArgumentParser = sub.add_parser("jobs", help="background jobs")
    parser.add_subparsers(dest="cmd", required=True)
