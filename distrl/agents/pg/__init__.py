"""REINFORCE (``--algo pg``): Monte Carlo policy gradient on complete episodes."""
