"""DDPG: exploration noise (noise.py), acting (acting.py), networks and learning (learning.py)."""
