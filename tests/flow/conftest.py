from __future__ import annotations

from pathlib import Path

import pytest
from flow_helpers import FlowFiles


@pytest.fixture
def files(tmp_path: Path) -> FlowFiles:
    return FlowFiles(tmp_path)
