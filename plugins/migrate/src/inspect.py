# Run by `manage.py shell -c`: Django's own view of the migrations, as one
# JSON line. Reads only (the loader does not create django_migrations).
import json, os
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

req = json.loads(os.environ["CAIRN_MIGRATE"])
ex = MigrationExecutor(connections[req.get("database") or DEFAULT_DB_ALIAS])
graph = ex.loader.graph
applied = set(ex.loader.applied_migrations)


def irreversible(ops):
    out = []
    for i, op in enumerate(ops):
        inner = getattr(op, "database_operations", None)
        if inner is not None:
            out += irreversible(inner)
        elif not getattr(op, "reversible", True):
            out.append({"operation": type(op).__name__, "index": i, "describe": op.describe()})
    return out


conflicts = {a: sorted(n) for a, n in ex.loader.detect_conflicts().items()}
if conflicts:
    targets = []
elif req["mode"] == "plan":
    targets = graph.leaf_nodes()
else:
    targets = [(a, None if n == "zero" else n) for a, n in req["targets"]]
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
print("CAIRN-MIGRATE-JSON " + json.dumps({"plan": plan, "state": state, "conflicts": conflicts}))
