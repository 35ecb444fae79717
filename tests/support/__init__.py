"""Test harness shared by every balrog package: real servers on loopback, started here."""
