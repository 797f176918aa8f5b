"""An organization's connection to its provider: connecting (services), keeping its
access token alive for every process (tokens), and what the Connection page shows
(selectors)."""
