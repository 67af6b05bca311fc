"""cloudmap: a dict whose items live in a cloud object store or a local directory."""
