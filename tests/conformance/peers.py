"""The official clients our tests use as peers: ``inkbox==0.4.4`` and ``inkbox==0.7.20``.

pip cannot install two versions of one distribution side by side, so the dev
extra installs 0.4.4 (the seed's) as ``inkbox`` and this module makes 0.7.20
(the current one) importable as ``inkbox_0720``: it downloads the wheel from
PyPI once (``pip download``, into ``.peers/`` at the repository root, ignored
by git), unpacks it and renames the package's own absolute imports. Nothing
of it is kept in the repository; the dependencies of 0.7.20 are those of
0.4.4, which the dev extra already installs.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / ".peers"
CURRENT = "0.7.20"
CURRENT_MODULE = "inkbox_0720"
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)inkbox\b", re.M)


def _unpack(version: str, module: str) -> Path:
    target = PEERS / f"inkbox-{version}"
    if (target / module / "__init__.py").is_file():
        return target
    PEERS.mkdir(exist_ok=True)
    wheel = next(PEERS.glob(f"inkbox-{version}-*.whl"), None)
    if wheel is None:
        subprocess.run(
            [*PIP_DOWNLOAD, "--dest", str(PEERS), f"inkbox=={version}"],
            check=True,
        )
        wheel = next(PEERS.glob(f"inkbox-{version}-*.whl"))
    staging = PEERS / f".staging-{version}"
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.startswith("inkbox/") or name.endswith("/"):
                continue
            data = archive.read(name)
            if name.endswith(".py"):
                data = _IMPORT.sub(rf"\1\2\3{module}", data.decode()).encode()
            out = staging / module / name.removeprefix("inkbox/")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
    staging.rename(target)
    return target


def official_current() -> ModuleType:
    """The current official client, ``inkbox==0.7.20``, as the module ``inkbox_0720``."""
    path = str(_unpack(CURRENT, CURRENT_MODULE))
    if path not in sys.path:
        sys.path.append(path)
    return importlib.import_module(CURRENT_MODULE)
