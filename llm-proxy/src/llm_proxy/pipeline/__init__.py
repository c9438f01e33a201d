"""The request path: what happens to one client request, stage by stage.

What the package offers, by module:

- `request_path.RequestPath`: the stages composed in order (read it top to bottom).
- `seams`: where prompt templates, guardrails and the optimizer plug in.
- `context.RequestContext`: one request's state as it travels; `errors.GatewayError`:
  the 4xx/5xx a stage answers with.
- one module per stage: `identify`, `authorize`, `limits`, `budget`, `cache`,
  `auto_route` and `route`, `settle`, `log`; `tokens` counts prompts.

This file imports nothing, so importing any one module of the package runs only that
module's own imports.
"""
