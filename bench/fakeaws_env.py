"""What the benchmarks that run the scanner against ../shared/fakeaws share: where things are,
and the environment that points the scanner's process at the fake and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAKEAWS = REPO.parent / "shared" / "fakeaws" / "fakeaws.py"
# Fake credentials, no profile files, no instance metadata: nothing of the machine's AWS set-up.
SCANNER_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
