#!/usr/bin/env python3
"""The Lambda artefact, offline: `make package` (then `npx sls deploy --package .serverless`).

`sls package` (Serverless Framework v3 from node_modules, the venv's node, no AWS credentials, a HOME of
its own), then every module in the zip compiled for CPython 3.11 with hash-checked bytecode. Lambda's code
folder is read-only, so bytecode that is missing or judged stale is compiled again at every cold start;
pip's bytecode is checked by file time, which the zip does not keep (measured: 2.9 s to import the skill
cold, 1.3 s with this).
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from py_compile import PycInvalidationMode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
SLS = ROOT / "node_modules" / ".bin" / "sls"
ZIP_NAME = "back-spasm-coach.zip"


def package(out: Path) -> Path:
    """The artefact in ``out``; its path."""
    home = Path(tempfile.mkdtemp(prefix="sls-home-"))
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(home), "SLS_TELEMETRY_DISABLED": "1",
           "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*", "AWS_REGION": "us-east-1"}
    try:
        done = subprocess.run([str(SLS), "package", "--package", str(out)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"sls package failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    zip_path = out / ZIP_NAME
    with_bytecode(zip_path)
    return zip_path


def with_bytecode(zip_path: Path) -> None:
    """Rewrite the zip with hash-checked bytecode beside every module (pip's own, time-checked, dropped)."""
    if sys.version_info[:2] != (3, 11):
        raise SystemExit("the bytecode must be CPython 3.11's, as serverless.yml's runtime: run with Python 3.11")
    work = Path(tempfile.mkdtemp(prefix="lambda-zip-"))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            archive.extractall(work)
        for stale in work.rglob("__pycache__"):
            shutil.rmtree(stale)
        compileall.compile_dir(str(work), quiet=2, invalidation_mode=PycInvalidationMode.CHECKED_HASH)
        rebuilt = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in work.rglob("*") if p.is_file()):
                name = path.relative_to(work).as_posix()
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = infos[name].external_attr if name in infos else 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
        rebuilt.replace(zip_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / ".serverless"), help="where the artefact goes")
    args = parser.parse_args(argv)
    zip_path = package(Path(args.out))
    print(f"{zip_path}: {zip_path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
