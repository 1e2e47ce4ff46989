"""Placeholder: leaderboards from per-image scores (issue 3)."""


def leaderboard(*args, **kwargs):
    raise NotImplementedError
