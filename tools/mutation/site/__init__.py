"""Loaded by Python processes during a mutmut run: see sitecustomize.py."""
