"""Data of the OpenAPI schema that settings need (no imports: settings load it early): the tags
that group operations in Swagger UI and the bodies of error answers (core/api/schema.py says
which operation answers which)."""

# (tag, one-line description): the groups of Swagger UI, in this order.
TAGS = [
    ("projects", "Projects and their members: the owner manages, members read."),
    ("stories", "User stories of a project (`US-42`), with status and priority."),
    ("workflows", "Workflows and their executions: execute, complete, fail, cancel."),
    ("commands", "Commands and their executions: execute, complete."),
    ("alerts", "Platform-wide system alerts, raised by staff."),
    ("webhooks", "Signed outgoing webhooks: endpoints, deliveries, redelivery, recovery."),
    ("events", "The events the integrations deliver: publish custom ones, read recent ones."),
    ("slack", "Slack integrations: channel, verification, test message, message history."),
    ("teams", "Microsoft Teams integrations: Workflows URL, verification, test card, history."),
    ("github", "GitHub integrations: pull requests, Actions runs, story issues, GitHub's hooks."),
    ("email", "Your email notifications: switches, a test email, the mail sent to you."),
]

# The bodies of error answers (SPECTACULAR_SETTINGS["APPEND_COMPONENTS"]).
ERROR_COMPONENTS = {
    "ErrorDetail": {
        "type": "object",
        "description": "An error answer: what went wrong, in words.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "FieldErrors": {
        "type": "object",
        "description": "Invalid input: each field (or query parameter) named with its "
        "messages; `non_field_errors` for the object as a whole; `detail` for a body that "
        "could not be parsed.",
        "additionalProperties": {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "string"},
                {"type": "object"},
            ]
        },
    },
    "RemoteError": {
        "type": "object",
        "description": "A remote service (GitHub) refused or failed: `github_status` is its "
        "own HTTP status when it answered.",
        "properties": {
            "detail": {"type": "string"},
            "github_status": {"type": "integer", "nullable": True},
        },
        "required": ["detail"],
    },
}
