"""Make oscrypto 1.3.0 import on OpenSSL builds with a two-digit patch number.

Why this exists
---------------
ask-sdk-webservice-support verifies Alexa's request signatures with ``certvalidator``, which
imports ``oscrypto``. At import time oscrypto 1.3.0 reads the libcrypto version string and parses
it with the regex ``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b`` (in ``oscrypto/_openssl/_libcrypto_cffi.py`` and
``_libcrypto_ctypes.py``). That pattern allows exactly one digit per component, so a string such
as ``"OpenSSL 3.0.19 27 Jan 2026"`` does not match (``\\b`` cannot sit between ``1`` and ``9``),
and the import fails with::

    oscrypto.errors.LibraryNotFoundError: Error detecting the version of libcrypto

which makes ``import ask_sdk_webservice_support.verifier`` fail, and with it the whole web
endpoint. Upstream fixed the pattern after 1.3.0 by allowing ``\\d+`` for the patch number
(wbond/oscrypto issues #75 and #78), but no release containing the fix exists on PyPI.

What it does
------------
:func:`apply` installs a ``sys.meta_path`` finder that claims exactly the two modules above. Its
loader reads their *source*, replaces the exact old regex literal with the fixed one and
compiles and executes the result. Nothing else in oscrypto is touched, nothing on disk is
written, and the bytecode cache is bypassed on purpose: a ``__pycache__`` entry compiled from
the unpatched source (the failed import above leaves one behind) must never win.

When the installed source no longer contains the old literal (a fixed oscrypto release, or a
vendor patch), the finder steps aside and the normal import machinery loads the module.

:func:`apply` must run before anything imports ``certvalidator``/``oscrypto.asymmetric``;
``skill.web.verification`` calls it at the top of the module, before its library imports.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading

#: The modules whose version regex is broken in oscrypto 1.3.0 (one of them is used,
#: depending on whether cffi is installed).
TARGET_MODULES = frozenset(
    {
        "oscrypto._openssl._libcrypto_cffi",
        "oscrypto._openssl._libcrypto_ctypes",
    }
)

#: The regex literal exactly as it appears in oscrypto 1.3.0's source text.
OLD_LITERAL = r"'\\b(\\d\\.\\d\\.\\d[a-z]*)\\b'"
#: The upstream fix: one or more digits for the patch number ("3.0.19", "1.1.1w", "3.3.6").
NEW_LITERAL = r"'\\b(\\d\\.\\d\\.\\d+[a-z]*)\\b'"

_lock = threading.Lock()


def patch_source(source: str) -> str | None:
    """``source`` with the old version regex replaced, or None when there is nothing to fix."""
    if OLD_LITERAL not in source:
        return None
    return source.replace(OLD_LITERAL, NEW_LITERAL)


class _PatchedSourceLoader(importlib.abc.InspectLoader):
    """Executes an already patched source text; never reads or writes a bytecode cache."""

    def __init__(self, fullname: str, path: str, source: str):
        self.name = fullname
        self.path = path
        self._source = source

    def get_filename(self, fullname: str | None = None) -> str:
        return self.path

    def get_source(self, fullname: str) -> str:
        return self._source

    def is_package(self, fullname: str) -> bool:
        return False

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module) -> None:
        # dont_inherit: the module's own ``from __future__`` lines apply, not this file's.
        code = compile(self._source, self.path, "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - the module's own (patched) source


class OscryptoVersionRegexFinder(importlib.abc.MetaPathFinder):
    """Claims only :data:`TARGET_MODULES`, and only while their source has :data:`OLD_LITERAL`."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in TARGET_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None  # not a plain source file (e.g. bytecode-only install): leave it alone
        try:
            source = importlib.util.decode_source(spec.loader.get_data(spec.origin))
        except OSError:
            return None
        patched = patch_source(source)
        if patched is None:
            return None  # already fixed upstream: a no-op
        loader = _PatchedSourceLoader(fullname, spec.origin, patched)
        new_spec = importlib.util.spec_from_loader(fullname, loader, origin=spec.origin)
        new_spec.has_location = True  # sets __file__ to the real source path
        return new_spec


def is_applied() -> bool:
    return any(isinstance(finder, OscryptoVersionRegexFinder) for finder in sys.meta_path)


def apply() -> bool:
    """Install the import hook (idempotent). Returns True when this call installed it."""
    with _lock:
        if is_applied():
            return False
        sys.meta_path.insert(0, OscryptoVersionRegexFinder())
        return True
