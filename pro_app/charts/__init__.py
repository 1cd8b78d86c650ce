"""Score charts for the trial team: trajectories and flags, and their SVG drawing.

Pure (no Flask, no database), so they are tested without an app.
"""
