"""Data files shipped with matbench (installed as ``matbench.manifests``).

Read them with ``importlib.resources.files("matbench.manifests") / NAME``.
"""
