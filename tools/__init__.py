"""Commands users and CI run (`python -m tools.<name>`); the offline engine they share with the tests is
`engine/`, code only the tests use is `tests/support/` (README "Layout")."""
