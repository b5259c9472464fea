"""User-facing plans: each opens runs and documents its arguments, streams and start keys."""
