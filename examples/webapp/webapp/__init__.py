"""A deliberately small web application used to show why test suites break
when their tests run in parallel (see ../README.md)."""
