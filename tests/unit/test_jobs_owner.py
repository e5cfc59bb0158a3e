"""Lease owners: who holds a running job must be unique per runner and say where it runs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

from jobs.runner import new_owner


def test_owner_names_host_and_process_and_is_unique_per_runner() -> None:
    owners = [new_owner() for _ in range(2_000)]
    assert len(set(owners)) == len(owners)  # two runners of one process never share a lease
    host, pid, suffix = owners[0].rsplit(":", 2)
    assert host == socket.gethostname() and pid == str(os.getpid())
    assert re.fullmatch(r"[0-9a-f]{8}", suffix)


def test_another_process_gets_another_owner() -> None:
    other = subprocess.run(
        [sys.executable, "-c", "from jobs.runner import new_owner; print(new_owner())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert other.rsplit(":", 2)[1] != str(os.getpid()) and other != new_owner()
