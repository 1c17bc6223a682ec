"""The `{{name}}` plugin of this project. `cairn plugin build {{name}}` makes
it a component (`plugins/{{name}}.wasm`) with componentize-py and pins it in
`cairn.lock`; `cairn plugin test {{name}}` runs `test_app.py`."""

import cairn_sdk

plugin = cairn_sdk.Plugin(
    "{{name}}", "0.1.0", "Greets someone",
    capabilities={"exec": ["echo"]},
)

# The arguments of `hello`: `step greet uses={{name}} { who "ops" }`. The
# descriptions are the help `cairn plugin show {{name}}` prints, and
# `cairn validate` checks every step against this schema.
HELLO_ARGS = {
    "type": "object",
    "properties": {
        "who": {"type": "string", "description": "Who to greet."},
        "loud": {"type": "boolean", "default": False, "description": "Shout the greeting."},
    },
    "required": ["who"],
    "additionalProperties": False,
}


@plugin.action("hello", "Say hello with `echo`", effect="write", args=HELLO_ARGS)
def hello(host, ctx, args):
    text = f"hello, {args.who}"
    if args.loud:
        text = text.upper()
    # A write: in a dry-run the host records it and answers `planned`.
    done = host.exec("echo", [text])
    if not done.planned and done.status != 0:
        raise cairn_sdk.PluginError(f"`echo` exited with status {done.status}")
    return {"greeting": done.stdout_text.rstrip("\n"), "planned": done.planned}


# What componentize-py exports (None natively, in unit tests).
WitWorld = plugin.export()
