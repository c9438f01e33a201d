"""The control API (`/admin/*`)."""
