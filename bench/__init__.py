"""hazard-kb benchmarks: `bench/run` (see bench/README.md)."""
