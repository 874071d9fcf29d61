"""Checks that each file is a Linux executable for the named architecture: check_elf.py ARCH FILE..."""

import sys
from pathlib import Path

MACHINES = {"aarch64": 183, "x86_64": 62}


def main():
    arch, files = sys.argv[1], sys.argv[2:]
    for path in files:
        with Path(path).open("rb") as binary:
            header = binary.read(20)
        if header[:4] != b"\x7fELF":
            sys.exit(f"{path} is not an ELF executable")
        machine = int.from_bytes(header[18:20], "little")
        if machine != MACHINES[arch]:
            sys.exit(f"{path} is built for machine {machine}, not {arch}")
        print(f"{path}: {arch} executable")


if __name__ == "__main__":
    main()
