"""Placeholder: per-image scoring of prediction folders (issue 3)."""


def score(*args, **kwargs):
    raise NotImplementedError
