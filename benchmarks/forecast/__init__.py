"""The day-ahead intensity forecast benchmark (issue 16): `python -m benchmarks.forecast`.

data.py reads the benchmark's formats, protocol.py scores by the CarbonCast/DACF protocol,
candidates.py holds the learners compared, __main__.py runs every region and trace.
"""
