"""Sync jobs: connections to the pre-sales tools, their runs, and the adapters that read them.

`ports.py` names what an adapter yields, `vivun_csv.py` is the first adapter, `writers.py` upserts
what adapters yield into the opportunities app, `services.py` runs it all under a lease.
"""
