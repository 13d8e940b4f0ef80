"""One screen per module. Screens collect input and show results; the app routes."""
