# Run by `manage.py shell -c`: Django's own view of the migrations, as one
# JSON line. Modes `plan` and `back` only read (the loader does not create
# django_migrations). Mode `apply` answers the `plan` question, then, unless
# the plan has an irreversible operation and `allow-irreversible` is false,
# runs `migrate` in this same process and answers again as `after`: one
# Django start instead of three.
import json, os
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

req = json.loads(os.environ["CAIRN_MIGRATE"])
database = req.get("database") or DEFAULT_DB_ALIAS


def irreversible(ops):
    out = []
    for i, op in enumerate(ops):
        inner = getattr(op, "database_operations", None)
        if inner is not None:
            out += irreversible(inner)
        elif not getattr(op, "reversible", True):
            out.append({"operation": type(op).__name__, "index": i, "describe": op.describe()})
    return out


def inspect(mode):
    ex = MigrationExecutor(connections[database])
    graph = ex.loader.graph
    applied = set(ex.loader.applied_migrations)
    conflicts = {a: sorted(n) for a, n in ex.loader.detect_conflicts().items()}
    if conflicts:
        targets = []
    elif mode == "back":
        targets = [(a, None if n == "zero" else n) for a, n in req["targets"]]
    else:
        targets = graph.leaf_nodes()
    plan = []
    for m, backwards in ex.migration_plan(targets):
        plan.append({
            "app": m.app_label,
            "name": m.name,
            "backwards": backwards,
            "operations": [op.describe() for op in m.operations],
            "irreversible": irreversible(m.operations),
        })
    state = {}
    for app in sorted({k[0] for k in graph.nodes}):
        mine = [k for k in applied if k[0] == app and k in graph.nodes]
        heads = sorted(k[1] for k in mine
                       if not any(c in applied and c[0] == app for c in graph.node_map[k].children))
        state[app] = heads[0] if len(heads) == 1 else (heads or "zero")
    return {"plan": plan, "state": state, "conflicts": conflicts}


seen = inspect(req["mode"])
# The state before anything is migrated goes out first: a migrate that
# fails half-way still leaves it in the output.
print("CAIRN-MIGRATE-JSON " + json.dumps(seen), flush=True)
if req["mode"] == "apply" and seen["plan"] and not seen["conflicts"] and (
        req.get("allow_irreversible") or not any(s["irreversible"] for s in seen["plan"])):
    from django.core.management import call_command
    call_command("migrate", database=database, interactive=False)
    print("CAIRN-MIGRATE-AFTER " + json.dumps(inspect("plan")), flush=True)
