"""The read-only serving copy of the public marts that BI tools connect to (docs/bi.md)."""
