"""`gridshift report`: a namespace's energy, emissions, intensity, actions and estimated avoided
emissions over a time range, read from Prometheus, written as Markdown with PNG charts.

query (prometheus.py, queries.py, collect.py) -> arithmetic (series.py) -> charts.py, markdown.py;
command.py is the command line. matplotlib is an optional extra (`pip install 'gridshift[report]'`).
See docs/report.md.
"""
