"""`serve`: a local web page and JSON endpoint that generate text from a model folder."""
