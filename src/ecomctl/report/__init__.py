"""The game-day report: one self-contained HTML file (charts inline as SVG) and a Markdown summary."""
