"""What each isolation layer promises a command cannot do, how it keeps each promise, and
what it cannot promise: the tables `baton doctor` and every command's note are built from.
isolation.py refuses a Linux layer that misses any of GUARANTEES.
"""

from __future__ import annotations

# What a layer must give before commands run under it (bwrap, landlock); `baton doctor`
# lists them for the active layer.
GUARANTEES: dict[str, str] = {
    "capabilities": "every capability dropped, as root too",
    "no_new_privs": "setuid binaries and file capabilities grant nothing",
    "host_sockets": "no host unix socket reachable, pathname or abstract",
    "host_processes": "no signal or ptrace to a process outside the command; the daemon's "
                      "memory and environment out of reach",
    "process_tree": "every process the command starts dies with it: at exit, timeout, "
                    "cancel, and if the daemon dies",
    "network": "no network unless [permissions] network = true",
    "credentials": "credential stores in $HOME hidden",
}

HOW: dict[str, dict[str, str]] = {
    "bwrap": {"capabilities": "bwrap --cap-drop ALL, an unprivileged uid inside",
              "no_new_privs": "set by bwrap",
              "host_sockets": "seccomp refuses socket(AF_UNIX); /tmp is private",
              "host_processes": "PID namespace; seccomp refuses ptrace",
              "process_tree": "PID namespace: its init's exit kills the rest; --die-with-parent",
              "network": "a network namespace of its own",
              "credentials": "masked by empty mounts"},
    "landlock": {"capabilities": "bounding, ambient, permitted and effective sets emptied",
                 "no_new_privs": "prctl before Landlock",
                 "host_sockets": "seccomp refuses socket(AF_UNIX); Landlock scopes abstract ones",
                 "host_processes": "Landlock scopes signals and ptrace; seccomp refuses ptrace",
                 "process_tree": "a subreaper supervisor kills every descendant",
                 "network": "seccomp refuses every socket family; Landlock denies TCP",
                 "credentials": "left out of Landlock's read rules"},
}

MISSING: dict[str, dict[str, str]] = {
    "sandbox-exec": {
        "capabilities": "not applicable on macOS",
        "host_sockets": "the Seatbelt profile does not restrict unix sockets",
        "host_processes": "the Seatbelt profile does not restrict signals",
        "process_tree": "macOS has no subreaper: a command's daemonised children can outlive "
                        "it (only its process group is killed)",
        "credentials": "reads are not restricted"},
    "none": {k: "no isolation" for k in GUARANTEES},
}

LIMITS: dict[str, str] = {
    "bwrap": "read-only root, private /tmp, commands run on an overlay view of the run's "
             "changes; they can read world-readable files (and, as root, root's own files "
             "outside the hidden credential stores); no unix sockets at all, socketpair only",
    "landlock": "writes only inside a copy of the workspace (the first command of a run copies "
                "it: O(workspace)); reads are not restricted beyond the credential stores; "
                "no unix sockets at all, socketpair only; no socket of any kind without network",
    "sandbox-exec": "writes only inside a copy of the workspace (the first command of a run "
                    "copies it); IP network denied unless [permissions] network = true",
    "none": "no isolation: commands are refused unless the workspace opts in",
}
