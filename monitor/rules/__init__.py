"""Rules decide: YAML rule files become compiled rule sets that turn entries into matches."""
