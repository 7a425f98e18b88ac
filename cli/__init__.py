"""The `mappa` command-line tool: tokens, directory, deadline calculator, demo data."""
