"""Training as Qt-free generators of Progress values (the CLI prints them, the GUI plots them)."""
