"""Durable state: keys, teams, users, budgets, admin tokens and the request (spend) log.

`models` holds the tables, `database` the engine and migrations, the other modules one
repository each. Nothing here runs on the request path except through the key cache.
"""
