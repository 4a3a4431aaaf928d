"""Where and with what a benchmark run was made: the commit, the machine and the package versions.

On one machine a run is bit-reproducible; across machines it is not (the same code, data and seed moved
English dev F1 by 0.7), so every run says where it ran, and paired runs are made on one machine.
"""
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Dict, Optional

PACKAGES = ("torch", "spacy", "spacy-transformers", "thinc", "transformers", "numpy", "seqeval")


def versions() -> Dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_record() -> Dict[str, Any]:
    """Platform, CPU model and count, Python and the versions of the packages that shape a run's numbers."""
    info = Path("/proc/cpuinfo")
    models = [line.split(":", 1)[1].strip() for line in (info.read_text().splitlines() if info.exists() else [])
              if line.startswith("model name")]
    return {"platform": platform.platform(), "cpu": models[0] if models else platform.processor(),
            "cpus": os.cpu_count(), "host": platform.node(), "machine_id": _read_id(Path("/etc/machine-id")),
            "boot_id": _read_id(Path("/proc/sys/kernel/random/boot_id")),
            "python": platform.python_version(), "packages": versions()}


def machine_key(machine: Dict[str, Any]) -> str:
    """What tells two machines apart in a report: the CPU model and the machine id together. Two VMs of one image
    share the CPU model string, and one VM image (one machine id) has come back on other hardware between sessions
    (an Intel Xeon, then an AMD EPYC), which changes a run's numbers; either alone would call those one machine."""
    parts = [str(machine[k]) for k in ("cpu", "machine_id") if machine.get(k)]
    return " / ".join(parts) or "unknown"


def _read_id(path: Path) -> Optional[str]:
    """An id file's content (``/etc/machine-id``: the installation; ``boot_id``: this boot), None where absent."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def code_record(root: Path) -> Dict[str, Any]:
    """The commit of the code, and whether tracked files differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def pinned(constraints: Path) -> Dict[str, str]:
    """``name==version`` lines of a pip constraints file."""
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, ver = line.partition("==")
            pins[name.strip().lower()] = ver.strip()
    return pins


def check_pins(constraints: Path) -> None:
    """Refuse to measure with other versions than the pinned ones (a local build suffix such as +cpu is fine)."""
    wrong = {}
    for name, want in pinned(constraints).items():
        try:
            have = version(name)
        except PackageNotFoundError:
            have = "not installed"
        if have.split("+")[0] != want:
            wrong[name] = f"{have} (pinned {want})"
    if wrong:
        raise SystemExit(f"Installed versions differ from {constraints.name}: {wrong}. Install with ./install.sh "
                         "(pip install -c constraints.txt) so that the runs measure the pinned software.")


def check_checkout(root: Path) -> None:
    """Refuse to measure when the interpreter imports spacy_concner from another checkout than ``root``.

    The workflow's commands run in project copies outside the repository, so they import the installed
    package; a virtual environment copied from another worktree (its activate script and editable install
    point back there) would run that tree's code while the record names this commit."""
    import sys
    import tempfile

    probe = "import pathlib, spacy_concner; print(pathlib.Path(spacy_concner.__file__).resolve().parent.parent)"
    with tempfile.TemporaryDirectory() as cwd:
        found = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True).stdout.strip()
    if Path(found or "/nonexistent").resolve() != root.resolve():
        raise SystemExit(f"{sys.executable} imports spacy_concner from {found or 'nowhere'}, not from {root}: install "
                         f"this checkout (pip install -e {root} --no-deps) in its own environment before measuring.")
