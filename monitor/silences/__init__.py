"""Silences, as Alertmanager users know them: matchers, a time span, an author and a comment.

``model`` is pure (matching, states, parsing); ``store`` keeps them in Redis. A silenced alert is
recorded and visible, but not delivered; a silence expires by itself when its end passes.
"""
