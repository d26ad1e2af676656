"""Chart specs and their renderers (Plotly on screen, python-pptx for decks)."""
