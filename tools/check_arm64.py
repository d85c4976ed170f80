"""Fails unless every compiled extension in the built layer is an aarch64 ELF (Lambda arm64).

A layer built on an x86_64 host without `BuildArchitecture: arm64` ships x86_64 `pydantic_core`, which
only fails at import time in Lambda; this check makes that a build failure instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

EM_AARCH64 = 183


def elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    if header[5] == 1:
        return int.from_bytes(header[18:20], "little")
    return int.from_bytes(header[18:20], "big")


def main(layer_dir: str) -> int:
    root = Path(layer_dir)
    extensions = [p for p in root.rglob("*") if p.is_file() and (p.suffix == ".so" or ".so." in p.name)]
    if not extensions:
        print(f"no compiled extensions found under {root}: is the layer built?")
        return 1
    wrong = [(p, elf_machine(p)) for p in extensions if elf_machine(p) != EM_AARCH64]
    for path, machine in wrong:
        print(f"not aarch64 (e_machine={machine}): {path.relative_to(root)}")
    print(f"{len(extensions) - len(wrong)}/{len(extensions)} compiled extensions are aarch64")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build/SharedLayer"))
