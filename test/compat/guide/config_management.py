#!/usr/bin/python3
"""Guide example 1: configuration management with kazoo.

A service keeps its database settings in /config/database. Clients read it and keep a DataWatch
on it so they pick up changes without polling.

Usage: /usr/bin/python3 config_management.py HOST:PORT
Prints one final JSON line {"ok": bool, "checks": {...}} and exits non-zero on failure.
"""
import json
import sys
import threading

from kazoo.client import KazooClient

hosts = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2181"
checks = {}


def check(name, cond, detail=None):
    checks[name] = bool(cond) if detail is None else {"ok": bool(cond), "detail": detail}
    return cond


admin = KazooClient(hosts=hosts, timeout=10)
service = KazooClient(hosts=hosts, timeout=10)
admin.start(timeout=15)
service.start(timeout=15)
try:
    # The administrator publishes the configuration; makepath creates /config too.
    initial = b'{"host": "db1.example.com", "port": 5432}'
    path = admin.create("/config/database", initial, makepath=True)
    check("create_with_makepath", path == "/config/database" and admin.exists("/config") is not None, path)

    # A service reads it.
    data, stat = service.get("/config/database")
    check("get_returns_config", data == initial and stat.version == 0, {"data": data.decode(), "version": stat.version})

    # ... and watches it.
    seen = []
    changed = threading.Event()

    @service.DataWatch("/config/database")
    def on_config(data, stat, event):
        seen.append({
            "data": data.decode() if data is not None else None,
            "version": stat.version if stat is not None else None,
            "event": event.type if event is not None else None,
        })
        if event is not None:
            changed.set()

    check("watch_called_initially", len(seen) >= 1 and seen[0]["data"] == initial.decode() and seen[0]["event"] is None, list(seen))

    # The administrator changes the configuration; the watch fires with the new value.
    updated = b'{"host": "db2.example.com", "port": 5433}'
    admin.set("/config/database", updated)
    fired = changed.wait(10)
    last = seen[-1] if seen else {}
    check("watch_fires_on_change", fired and last.get("data") == updated.decode() and last.get("version") == 1
          and last.get("event") == "CHANGED", list(seen))

    # A second change is seen too (DataWatch re-registers after each event).
    changed.clear()
    admin.set("/config/database", b'{"host": "db3.example.com", "port": 5433}')
    fired = changed.wait(10)
    check("watch_fires_again", fired and seen[-1]["version"] == 2 and seen[-1]["data"].startswith('{"host": "db3'), list(seen))

    # Removing the configuration reaches the watcher as a deletion (data and stat None).
    changed.clear()
    admin.delete("/config/database")
    fired = changed.wait(10)
    check("watch_sees_delete", fired and seen[-1] == {"data": None, "version": None, "event": "DELETED"}, list(seen))
    admin.delete("/config")
except Exception as e:  # report, don't hide, unexpected failures
    check("no_exception", False, repr(e))
finally:
    service.stop()
    admin.stop()
    service.close()
    admin.close()

ok = all(v is True or (isinstance(v, dict) and v["ok"]) for v in checks.values())
print(json.dumps({"example": "config_management", "ok": ok, "checks": checks}))
sys.exit(0 if ok else 1)
