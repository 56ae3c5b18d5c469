"""Advantage actor-critic: returns (returns.py), acting (acting.py), learning (learning.py)."""
