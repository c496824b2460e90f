"""The oscrypto 1.3.0 version-regex trap, and the import hook in ``skill._compat.oscrypto_fix``.

Import-time behaviour is only observable in a process that has not imported oscrypto yet, so
those checks run in a fresh interpreter (``sys.executable -c ...``).
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import py_compile
import re
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skill._compat import oscrypto_fix

PROJECT_ROOT = Path(__file__).resolve().parent.parent

OLD_PATTERN = ast.literal_eval(oscrypto_fix.OLD_LITERAL)
NEW_PATTERN = ast.literal_eval(oscrypto_fix.NEW_LITERAL)


def _oscrypto_openssl_dir() -> Path:
    spec = importlib.util.find_spec("oscrypto")  # finds the package without importing its submodules
    return Path(next(iter(spec.submodule_search_locations))) / "_openssl"


def _installed_sources() -> dict[str, str]:
    directory = _oscrypto_openssl_dir()
    return {name: (directory / f"{name.rsplit('.', 1)[1]}.py").read_text("utf-8")
            for name in sorted(oscrypto_fix.TARGET_MODULES)}


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


def _library_version_tuple() -> tuple:
    """The version of the OpenSSL library this Python links, as oscrypto reports it: (3, 0, 19)."""
    match = re.search(r"OpenSSL (\d+)\.(\d+)\.(\d+)([a-z]*)", ssl.OPENSSL_VERSION)
    assert match, ssl.OPENSSL_VERSION
    parts = tuple(int(g) for g in match.groups()[:3])
    return parts + ((match.group(4),) if match.group(4) else ())


def _installed_source_has_old_literal() -> bool:
    return any(oscrypto_fix.OLD_LITERAL in source for source in _installed_sources().values())


def test_the_exact_old_literal_is_what_oscrypto_1_3_0_ships():
    # The hook keys on this text: if a future oscrypto changes it, the hook must step aside,
    # and test_unpatched_import_fails_exactly_when_the_old_regex_cannot_parse_this_openssl
    # proves whether the fix is still needed.
    assert OLD_PATTERN == r"\b(\d\.\d\.\d[a-z]*)\b"
    assert NEW_PATTERN == r"\b(\d\.\d\.\d+[a-z]*)\b"
    for source in _installed_sources().values():
        assert source.count(oscrypto_fix.OLD_LITERAL) + source.count(oscrypto_fix.NEW_LITERAL) == 1


def test_unpatched_import_fails_exactly_when_the_old_regex_cannot_parse_this_openssl():
    trap_expected = _installed_source_has_old_literal() and re.search(OLD_PATTERN, ssl.OPENSSL_VERSION) is None
    result = _run("""
        try:
            import ask_sdk_webservice_support.verifier
        except Exception as exc:
            print(type(exc).__module__ + "." + type(exc).__name__, exc)
        else:
            print("imported")
    """)
    assert result.returncode == 0, result.stderr
    if trap_expected:  # e.g. "OpenSSL 3.0.19 27 Jan 2026" with oscrypto 1.3.0
        assert result.stdout.startswith("oscrypto.errors.LibraryNotFoundError"), result.stdout
        assert "Error detecting the version of libcrypto" in result.stdout
    else:
        assert result.stdout.strip() == "imported", result.stdout


def test_after_apply_the_verifier_imports_and_oscrypto_reports_the_real_openssl_version():
    result = _run("""
        from skill._compat import oscrypto_fix
        assert oscrypto_fix.apply() is True
        import ask_sdk_webservice_support.verifier
        import certvalidator
        from oscrypto._openssl import _libcrypto
        print(repr(tuple(_libcrypto.libcrypto_version_info)))
    """)
    assert result.returncode == 0, result.stderr
    assert ast.literal_eval(result.stdout.strip()) == _library_version_tuple()


def test_a_failed_unpatched_import_and_its_cached_bytecode_do_not_defeat_the_fix():
    # The first, unpatched import compiles the original source into __pycache__ and then fails;
    # the patched import afterwards must compile the patched source, not reuse that bytecode.
    result = _run("""
        import sys
        try:
            import certvalidator
        except Exception as exc:
            print("first:", type(exc).__name__)
        else:
            print("first: imported")
        from skill._compat import oscrypto_fix
        oscrypto_fix.apply()
        import ask_sdk_webservice_support.verifier
        from oscrypto._openssl import _libcrypto
        print("second:", _libcrypto.libcrypto_version)
    """)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if _installed_source_has_old_literal() and re.search(OLD_PATTERN, ssl.OPENSSL_VERSION) is None:
        assert lines[0] == "first: LibraryNotFoundError", result.stdout
    assert lines[1].startswith("second: "), result.stdout


def test_importing_skill_web_verification_alone_works():
    result = _run("""
        import sys
        import skill.web.verification as v
        from skill._compat import oscrypto_fix
        import ask_sdk_webservice_support.verifier as lib
        assert v.VerificationException is lib.VerificationException
        assert oscrypto_fix.is_applied()
        print(sum(isinstance(f, oscrypto_fix.OscryptoVersionRegexFinder) for f in sys.meta_path))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_apply_is_idempotent():
    result = _run("""
        import sys
        from skill._compat import oscrypto_fix
        print(oscrypto_fix.apply(), oscrypto_fix.apply(), oscrypto_fix.apply())
        print(sum(isinstance(f, oscrypto_fix.OscryptoVersionRegexFinder) for f in sys.meta_path))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "False", "1"]


@pytest.mark.parametrize("version_string, expected", [
    ("OpenSSL 3.0.19 27 Jan 2026", "3.0.19"),
    ("OpenSSL 1.1.1w  11 Sep 2023", "1.1.1w"),
    ("LibreSSL 3.3.6", "3.3.6"),
    ("OpenSSL 3.0.2 15 Mar 2022", "3.0.2"),
])
def test_patched_regex_parses_real_version_strings(version_string, expected):
    match = re.search(NEW_PATTERN, version_string)
    assert match is not None and match.group(1) == expected


def test_old_regex_cannot_parse_a_two_digit_patch_number():
    assert re.search(OLD_PATTERN, "OpenSSL 3.0.19 27 Jan 2026") is None


def _fake_oscrypto(tmp_path: Path, source: str) -> list[str]:
    directory = tmp_path / "oscrypto" / "_openssl"
    directory.mkdir(parents=True)
    (directory / "_libcrypto_cffi.py").write_text(source, "utf-8")
    return [str(directory)]


def test_finder_patches_only_the_old_literal(tmp_path):
    source = (
        "import re\n"
        f"version_match = re.search({oscrypto_fix.OLD_LITERAL}, 'OpenSSL 3.0.19 27 Jan 2026')\n"
        "version = version_match.group(1)\n"
    )
    path = _fake_oscrypto(tmp_path, source)
    finder = oscrypto_fix.OscryptoVersionRegexFinder()
    spec = finder.find_spec("oscrypto._openssl._libcrypto_cffi", path)
    assert spec is not None and spec.origin == str(Path(path[0]) / "_libcrypto_cffi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.version == "3.0.19"
    assert spec.loader.get_source(spec.name) == source.replace(oscrypto_fix.OLD_LITERAL, oscrypto_fix.NEW_LITERAL)


def test_finder_never_uses_stale_unpatched_bytecode(tmp_path):
    source = (
        "import re\n"
        f"version_match = re.search({oscrypto_fix.OLD_LITERAL}, 'OpenSSL 3.0.19 27 Jan 2026')\n"
        "version = version_match.group(1)\n"
    )
    path = _fake_oscrypto(tmp_path, source)
    source_file = Path(path[0]) / "_libcrypto_cffi.py"
    pyc = Path(py_compile.compile(str(source_file), doraise=True))  # up-to-date bytecode of the *old* source
    assert pyc.exists()
    stale = importlib.machinery.SourcelessFileLoader("stale_libcrypto_cffi", str(pyc))
    with pytest.raises(AttributeError):  # the bytecode alone still carries the bug
        stale.exec_module(importlib.util.module_from_spec(importlib.util.spec_from_loader(stale.name, stale)))

    spec = oscrypto_fix.OscryptoVersionRegexFinder().find_spec("oscrypto._openssl._libcrypto_cffi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.version == "3.0.19"


def test_finder_steps_aside_when_the_source_is_already_fixed(tmp_path):
    path = _fake_oscrypto(tmp_path, f"import re\nPATTERN = {oscrypto_fix.NEW_LITERAL}\n")
    finder = oscrypto_fix.OscryptoVersionRegexFinder()
    assert finder.find_spec("oscrypto._openssl._libcrypto_cffi", path) is None
    assert oscrypto_fix.patch_source("PATTERN = r'\\d+'\n") is None


def test_finder_ignores_every_other_module(tmp_path):
    path = _fake_oscrypto(tmp_path, f"PATTERN = {oscrypto_fix.OLD_LITERAL}\n")
    finder = oscrypto_fix.OscryptoVersionRegexFinder()
    assert finder.find_spec("oscrypto._openssl._libssl_cffi", path) is None
    assert finder.find_spec("json", None) is None
