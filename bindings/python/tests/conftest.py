# What the tests share: the fixture model, the CLI's JSON answers (the reference the bindings must
# reproduce), one Model per session. The ctest python_pytest sets the environment variables.
import json
import os
import subprocess

import pytest

FIXTURES = os.environ.get("ZEROSHOT_FIXTURES", "")
CLI = os.environ.get("ZEROSHOT_CLI", "")
MODEL = os.path.join(FIXTURES, "models", "tiny-clip")


def image(name):
    return os.path.join(FIXTURES, "images", name)


def cli_json(*args):
    out = subprocess.run([CLI, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.fixture(scope="session")
def model():
    import zeroshot
    return zeroshot.Model(MODEL, threads=1)
