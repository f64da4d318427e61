from __future__ import annotations

import pytest

from gxp_otel.part11.keys import SignerKey
from p11_helpers import PASSPHRASE


@pytest.fixture(scope="session")
def alice(tmp_path_factory) -> SignerKey:
    return SignerKey.create(tmp_path_factory.mktemp("keys") / "alice.key", printed_name="Alice Example",
                            user_id="alice", passphrase=PASSPHRASE)


@pytest.fixture(scope="session")
def bob(tmp_path_factory) -> SignerKey:
    return SignerKey.create(tmp_path_factory.mktemp("keys") / "bob.key", printed_name="Bob Builder",
                            user_id="bob", passphrase=PASSPHRASE + " bob")
