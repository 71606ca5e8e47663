"""Sync jobs: connections to the pre-sales tools, their runs, and the adapters that read them.

`ports.py` names what an adapter yields, `services.py` runs it all under a lease.
Vivun: `vivun_csv.py`, `vivun_salesforce.py` and `vivun_http.py` read the CSV export, the managed
package's Salesforce objects and the HTTP export (`client.py` is the only module of these that
talks HTTP), `vivun_mappers.py` turns any of them into rows, `writers.py` upserts the rows into
the opportunities app and keeps the links back (`SyncedItem`).
Google Workspace: `google_client.py` (the only module that talks to Google), `google_drive.py`
(deal folders and documents from templates), `google_calendar.py` (meetings as activities),
`google_writers.py` (what both write).
"""
