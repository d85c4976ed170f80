"""`make bench`: arsync measured against the physical and protocol limits, side by side in one run."""
