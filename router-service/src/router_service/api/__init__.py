"""The HTTP surface: thin handlers over `RouterService`."""
