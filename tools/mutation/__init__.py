"""Mutation testing of the project's code (`./run mutate`): mutmut for the Python of agents/,
components/ and policy/, StrykerJS for the Node scripts; see docs/testing.md."""
