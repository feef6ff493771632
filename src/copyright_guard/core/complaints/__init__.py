"""The complaint workflow (Measure 1.5) as a pure state machine, its messages, and the
recheck's view of upheld complaints and withdrawn items."""
