"""Chaos: real adapter replicas, the real broker and the emulator, while things break."""
