"""Narrow, deliberate workarounds for bugs in third-party packages that have no fixed release.

Each shim lives in its own module, says which upstream issue it works around, is applied
explicitly by the code that needs it, and turns itself into a no-op once the installed
package no longer has the bug.
"""
