"""The AWS target's parts: cost model, preflight, teardown schedule, deploy, inventory, doctor."""
