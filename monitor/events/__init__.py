"""Treaty events and stories: who did what to which treaty, when, and what falls due. Pure.

``model`` holds the values; extraction (Match + Entry -> Event) and story keys live beside it.
Nothing here imports Redis, HTTP or the clock.
"""
