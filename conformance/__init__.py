"""ndpool.conformance: Hypothesis properties holding any target to the spec (see issue 4)."""
