"""The crash injector: put ``PATH`` (this folder) first on a child's PYTHONPATH and set CRASHKIT (see sitecustomize.py)."""

from pathlib import Path

PATH = Path(__file__).resolve().parent
