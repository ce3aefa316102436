"""Stand-in of ComfyUI's ``comfy`` package: the interrupt flag and the progress bar (tests only)."""
