"""`ecomctl load`: an exact arrival rate from Locust in a child process, a live dashboard, SLO gates.

Kept import-free: the Locust child imports ``ecomctl.load.pacer`` after gevent patched it,
and must not pull boto3 in on the way.
"""
