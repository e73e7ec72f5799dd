"""Test-only shim for a Debian packaging bug, loaded through PYTHONPATH.

Debian 12's python3-snappy 0.5.3 ships a C CRC-32C helper that raises
"SystemError: PY_SSIZE_T_CLEAN macro must be defined" on Python 3.11, so
its framing-format code (used by barman-cloud's --snappy and by
`python3 -m snappy`) fails before writing a byte. This replaces that one
helper with crcmod's CRC-32C (C extension, python3-crcmod); the framing
code itself stays python-snappy's. Nothing else is changed.
"""
try:
    import crcmod.predefined
    import snappy.snappy as _framing

    try:
        _framing._crc32c(b"probe")
    except SystemError:
        _framing._crc32c = crcmod.predefined.mkCrcFun("crc-32c")
except ImportError:
    pass
