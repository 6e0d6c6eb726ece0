"""Training as Qt-free generators of typed progress events (the CLI prints them, the GUI plots
them)."""
