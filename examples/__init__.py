"""Example apps for `echobench run --app` (docs/running.md)."""
