"""Sample data: the committed demo exports (``generate``) and the fast synthetic generator (``synth``)."""
