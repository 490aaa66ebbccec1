"""Chaos experiments: scenarios as data (chaos/*.yaml), run with guard rails and a verified hypothesis."""
