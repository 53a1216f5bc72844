"""Alert history for people: one record per story, indexed for the desk's filters and the API.

``record`` is pure (folding alerts into a story record, filters, cursors); ``store`` keeps the
records and their indexes in Redis with a retention; ``recorder`` is the consumer that reads every
channel's alert stream (group ``history``) and folds what it reads.
"""
