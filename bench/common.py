"""Small helpers shared by the benchmark scripts in ``bench/``: machine facts and BENCHMARKS.md sections.

Standard library only, so a benchmark's child processes can import this module without pulling in
torch or pandas. Each benchmark owns one section of ``BENCHMARKS.md``, delimited by
``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``; :func:`write_section` replaces that
section only and leaves everything else in the file as it was.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "nsmc"
BENCHMARKS_MD = PROJECT_ROOT / "BENCHMARKS.md"
FILE_HEADER = (
    "# Benchmarks\n\n"
    "Measured figures for nlp_pp. Each section is written by a script in `bench/` "
    "(see `bench/README.md`); rerun the command given in a section to refresh it.\n"
)


# --------------------------------------------------------------------------- machine facts


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cores_available() -> int:
    """Cores this process may run on (affinity mask), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def ram_gb() -> float | None:
    """Total RAM in GiB from /proc/meminfo, or ``None``."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError, IndexError):
        pass
    return None


def package_version(name: str) -> str:
    """Installed version of distribution ``name`` (without importing it), or ``"not installed"``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:
        return None


def format_load(load: tuple[float, float, float] | None) -> str:
    return "n/a" if load is None else " / ".join(f"{x:.2f}" for x in load) + " (1 / 5 / 15 min)"


def git_revision(root: Path = PROJECT_ROOT, paths: tuple[str, ...] = ("nlp_pp", "stopwords")) -> str:
    """Short commit of ``root`` plus a note when ``paths`` have uncommitted changes (read-only git calls)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()

    try:
        rev = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", *paths)
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    if dirty:
        return f"{rev} + uncommitted changes in {', '.join(paths)}"
    return rev


def source_digest(
    patterns: tuple[str, ...] = ("nlp_pp/*.py", "stopwords/*.txt"), root: Path = PROJECT_ROOT
) -> str:
    """Short hash of the files matching ``patterns`` (the code a benchmark measured, committed or not)."""
    h = hashlib.sha256()
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            h.update(str(path.relative_to(root)).encode())
            try:
                h.update(path.read_bytes())
            except OSError:
                pass
    return h.hexdigest()[:12]


def machine_facts(packages: tuple[str, ...] = ("torch", "python-mecab-ko")) -> dict[str, str]:
    """Facts worth recording with any measurement (strings, ready for a markdown list)."""
    ram = ram_gb()
    facts = {
        "CPU": cpu_model(),
        "cores available": f"{cores_available()} (os.cpu_count() = {os.cpu_count()})",
        "RAM": f"{ram:.1f} GiB" if ram is not None else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
    }
    for name in packages:
        facts[name] = package_version(name)
    return facts


def today() -> str:
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


# --------------------------------------------------------------------------- markdown


def md_table(headers: list[str], rows: list[list[object]], align: str | None = None) -> str:
    """A GitHub markdown table; ``align`` is one letter per column (``l``/``r``), default all left."""
    align = align or "l" * len(headers)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |")
    return "\n".join(lines)


def md_facts(facts: dict[str, str]) -> str:
    return "\n".join(f"- {k}: {v}" for k, v in facts.items())


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_section(name: str, body: str, path: str | Path = BENCHMARKS_MD) -> Path:
    """Put ``body`` between this benchmark's markers in ``path``; the rest of the file is left intact.

    Creates the file (with a short header) when absent and appends the section when its markers are
    not there yet. The file is re-read just before writing and replaced atomically, so sections written
    by other scripts in the meantime are kept.
    """
    path = Path(path)
    start, end = markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else FILE_HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def command_line(script: str | Path, argv: list[str] | None = None) -> str:
    """How this run was started, relative to the project root (for a "reproduce with" line)."""
    try:
        rel = Path(script).resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        rel = Path(script)
    args = " ".join(argv if argv is not None else sys.argv[1:])
    return f"python {rel}{(' ' + args) if args else ''}"
