"""The savings benchmark (issue 10): how much carbon gridshift's real decision code saves on the
recorded real intensity traces, against the baselines the field uses and the offline optimum.

`python -m benchmarks.savings` runs it; docs/benchmarks.md ("Savings") says what it measures.
"""
