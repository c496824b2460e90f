"""Proves that the tests check meaning, not wording: rewords the prompts in a scratch copy and runs the suite.

    .venv/bin/python scripts/reword_prompts.py                      # every prompt reworded, the whole suite
    .venv/bin/python scripts/reword_prompts.py -- tests/test_walkthrough.py   # ... only these tests
    .venv/bin/python scripts/reword_prompts.py --key steps.stop_activity.say --replace "you're" "you are"

The repository's tracked files are copied to a temporary folder (the virtualenv and the npm packages are
linked, not copied), every prompt of skill/content/prompts/*.yaml is reworded there (or the one ``--key``
gets ``--replace``), and pytest runs in that copy. A test that fails there depends on the wording: only the
wording smoke tests (tests/test_wording_smoke.py) should. The failed tests are listed at the end; the exit
status is 0 when nothing but those failed.

Rewording keeps every placeholder and punctuation mark and changes every word: a ``z`` goes in after the
first letter ("stop what you're doing" -> "sztop wzhat yzou're dzoing"), so no phrase and no word of two
letters or more can still be found in what is said.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = Path("skill/content/prompts")
SMOKE_TESTS = "tests/test_wording_smoke.py"
# Links into the copy instead of copies: large, and never reworded.
LINKED = (".venv", "node_modules", "tests/third_party/node_modules")
WORD = re.compile(r"[A-Za-z]+")


def reword(text: str) -> str:
    """Every word changed, placeholders ({minutes}) and punctuation kept."""
    parts = re.split(r"(\{[^{}]*\})", text)
    return "".join(p if p.startswith("{") else WORD.sub(lambda m: m.group()[0] + "z" + m.group()[1:], p)
                   for p in parts)


def rewrite(tree, change, path: str = ""):
    """``tree`` with ``change(key, text)`` applied to each string leaf."""
    if isinstance(tree, dict):
        return {k: rewrite(v, change, f"{path}.{k}" if path else str(k)) for k, v in tree.items()}
    return change(path, tree) if isinstance(tree, str) else tree


def scratch_copy(target: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name in LINKED:
        if (ROOT / name).exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(ROOT / name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", help="reword only this prompt key (with --replace)")
    parser.add_argument("--replace", nargs=2, metavar=("OLD", "NEW"), help="replace OLD by NEW in --key's text")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (its path is printed)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the test run may take (default 1800)")
    parser.add_argument("pytest_args", nargs="*", help="after --: what pytest runs (default: the whole suite)")
    args = parser.parse_args(argv)
    if bool(args.key) != bool(args.replace):
        parser.error("--key and --replace go together")

    def change(key: str, text: str) -> str:
        if args.key is None:
            return reword(text)
        if key != args.key:
            return text
        if args.replace[0] not in text:
            raise SystemExit(f"{key}: {args.replace[0]!r} is not in {text!r}")
        return text.replace(args.replace[0], args.replace[1])

    scratch = Path(tempfile.mkdtemp(prefix="back-spasm-reworded-"))
    try:
        scratch_copy(scratch)
        for path in sorted((scratch / PROMPTS).glob("*.yaml")):
            tree = yaml.safe_load(path.read_text(encoding="utf-8"))
            path.write_text(yaml.safe_dump(rewrite(tree, change), allow_unicode=True, sort_keys=False, width=1000),
                            encoding="utf-8")
        print(f"reworded prompts in {scratch}", flush=True)
        env = dict(os.environ, PYTHONPATH=str(scratch))  # the copy's code, also in the tests' subprocesses
        # (bounded: a test that waits for words the reworded prompts no longer say could wait for ever)
        run = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
                              *(args.pytest_args or [])], cwd=scratch, env=env, capture_output=True, text=True,
                             timeout=args.timeout)
        print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
        failed = sorted({line.split(" ", 1)[1].split(" - ")[0] for line in run.stdout.splitlines()
                         if line.startswith(("FAILED tests/", "ERROR tests/"))})
        others = [name for name in failed if not name.startswith(SMOKE_TESTS)]
        print(f"failed with the prompts reworded: {len(failed)} ({len(failed) - len(others)} wording smoke tests)")
        for name in failed:
            print(f"  {'smoke ' if name not in others else 'OTHER '} {name}")
        return 1 if others or run.returncode not in (0, 1) else 0
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
