"""Integrations above the Trainer: code that drives :class:`distrl.Trainer` from another
framework. ``tune.py``: a Ray Tune trainable (``distrl.integrations.tune.trainable``).

Nothing below the Trainer imports this package; it may import Ray (Tune) itself.
"""
