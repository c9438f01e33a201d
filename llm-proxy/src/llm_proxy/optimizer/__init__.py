"""OptiLLM's approaches through the optimizer service, every sub-call back through the gateway.

`selection` reads which approach a request asks for and whether its key may; `delegation`
mints the one credential its sub-calls use and rolls their spend up under the parent;
`service` speaks to the optimizer; `messages` translates Anthropic Messages requests for it
and its answers back; `stage` is the step of the request path that runs it.
"""
