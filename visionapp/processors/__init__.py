"""Built-in processors, one small module per family. Each is a frozen dataclass of settings."""
