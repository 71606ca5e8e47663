"""Curators' editors of the discovery catalog and of the training paths: `services` (the writes)
and `views` (the pages). Building blocks themselves are curated in the app's own modules."""
