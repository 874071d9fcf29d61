"""Where the functions' bootstraps are by default: cargo's dev build, which scripts/pipeline and scripts/test
make (what only runs on this machine needs no release build)."""

from .template import ROOT

BUILD = ROOT / "target" / "debug"


def default(name):
    """The bootstrap of the function `name` (producer, consumer or compactor) in the dev build."""
    return BUILD / name
