"""Local development tools: a Functions host, the emulators and a local channel. Never deployed."""
