"""Offline tooling: the mock-runtime harness, the render command and the policy analyzer client."""
