"""Pure parsers for device command output: text in, facts out (no I/O).

Modules: ``security`` (keychains), ``profiles`` (MDM enrollment), ``sysinfo`` (boot time, sw_vers,
ioreg, pkgutil, stat), ``dscl`` (local users).
"""
