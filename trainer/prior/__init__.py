"""Model organisms: tiny countdown models warm-started from scratch with controlled priors (see docs/results.md)."""
