"""Engine benchmarks: the Renault Megane model, generated clustered products and the timing harness."""
