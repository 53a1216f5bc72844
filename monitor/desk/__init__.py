"""The treaty desk: web pages and a JSON API served on the daemon's HTTP endpoint.

It reads through the history, silences and observe modules and writes only silences (and, later,
acknowledgements and subscriptions). ``security`` guards every route (token, session, CSRF,
Content-Security-Policy); ``views`` turns records into display values (pure); ``api`` and
``pages`` are thin aiohttp handlers over the same reads; ``live`` streams new alerts as
Server-Sent Events.
"""
