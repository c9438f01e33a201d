"""Content safety: checks on what goes to a model and what comes back, streams included.

One module per check (`email`, `phone`, `cards`, `iban`, `national_id`, `ssn`, `ip_address`,
`secrets`, `deny_list`, `regex_rules`, `invisible`, `injection`, `json_schema`, and
`classifier`, a model asked through the gateway itself); `detectors` turns a policy's checks
into detectors, `screen` runs them, `placeholders` redacts and restores, `policies` picks
what applies to a request, `inbound`, `outbound` and `stream` are the request, answer and
streamed-answer stages. Nothing here logs or keeps matched text.
"""
