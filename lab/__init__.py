"""The Tunewatch lab: trains and serves the real fine-tunes Tunewatch is shown on (docs/lab.md).

Not part of the daemon package. ``python -m lab.build`` trains tw-safe, the tw-drift-N series and
tw-forget; ``python -m lab.evaluate`` measures them on the real llama.cpp server.
"""
