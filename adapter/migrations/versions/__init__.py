"""Migration scripts, one a revision (`NNNN_name.py`, revision id `NNNN`)."""
