"""Helpers shared by the sandbox's tests; fixtures live in the conftests."""
