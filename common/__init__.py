"""Shared infrastructure with no domain and no models (the lowest layer: any app may import it)."""
