"""The lab: test doubles for the things the tool talks to (a simulated Mac, ...).

Kept import-light on purpose: the fake macOS executables import ``cleanup.lab.simmac.fakes`` on every call.
"""
