"""Simulated external providers (payment, inventory, shipping).

They are part of the platform so the failure scenarios have something real to break:
each keeps its own state in the providers table, is deterministic by default, and
wraps every call in a named fault-injection point (ecomshop.faults).
"""
