"""The `baton` command: serve, run, runs, trust, doctor. Logs go to stderr, never stdout."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from . import __version__


def _logging(verbose: bool) -> None:
    """stderr gets warnings and errors (an editor shows each stderr line as an error), or the
    level `BATON_LOG` names; a language server sends the rest to the editor's log
    (lsp/logs.py)."""
    named = os.environ.get("BATON_LOG", "WARNING").upper()
    level = logging.DEBUG if verbose else getattr(logging, named, None)
    if not isinstance(level, int):
        level = logging.WARNING
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(level)
    stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(stderr)
    root.setLevel(min(level, logging.INFO))
    # pygls logs every message body at INFO: whole files and prompts. Keep it quiet.
    for name in ("pygls", "httpx", "httpx2", "httpcore", "anthropic", "openai"):
        logging.getLogger(name).setLevel(logging.DEBUG if os.environ.get("BATON_TRACE") else logging.WARNING)


def _serve(args: argparse.Namespace) -> int:
    from .lsp.logs import IntendedErrors
    from .lsp.server import build
    logging.getLogger("pygls.protocol.json_rpc").addFilter(IntendedErrors())
    server = build()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            print(f"baton serve --tcp listens on loopback only, not {host!r}", file=sys.stderr)
            return 2
        server.start_tcp(host.strip("[]"), int(port))
    else:
        from .lsp.stdio import serve_stdio
        serve_stdio(server)
    return 0


def _engine(args: argparse.Namespace) -> int:
    from .lsp.engine_process import main
    return main(args.fd)


def _run(args: argparse.Namespace) -> int:
    from .cli_run import run_headless
    return asyncio.run(run_headless(Path(args.workspace), " ".join(args.task), route=args.route,
                                    yes=args.yes))


def _runs(args: argparse.Namespace) -> int:
    from .runtime.recorder import usage_line
    from .runtime.journal import Journal
    from .state_dir import Locations
    where = Locations.of(Path(args.workspace))
    if not where.journal.exists():
        print(f"No runs in {where.root} yet.")
        return 0
    journal = Journal(where.journal, where.runs_dir)
    try:
        runs = journal.load()
    finally:
        journal.close()
    import time
    for run in sorted(runs.values(), key=lambda r: r.created_at):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at))
        thread = f" (follow-up of {run.parent_run_id})" if run.parent_run_id else ""
        print(f"{run.id}  {when}  {run.route or '-':5} {run.state:17} "
              f"{usage_line(run):>24}  {run.task[:60]}{thread}")
    return 0


def _trust(args: argparse.Namespace) -> int:
    from .config import trust_workspace
    from .display import visible
    file = trust_workspace(Path(args.workspace))
    print(f"Baton trusts {visible(str(file.path))} as it is now (sha256 {file.digest}): all of it applies.\n"
          "Any change to it (an edit, a git pull) makes it untrusted again until you trust it again.\n"
          "`baton doctor` shows the configuration that results.")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import doctor
    return asyncio.run(doctor(Path(args.workspace), as_json=args.json, probe=args.probe))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="baton", description="AI coding agents in your editor.")
    parser.add_argument("--version", action="version", version=f"baton {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="{serve,run,runs,trust,doctor}")

    p = sub.add_parser("serve", help="speak LSP on stdio (how editors start Baton)")
    p.add_argument("--tcp", metavar="127.0.0.1:PORT", help="listen on loopback TCP instead")
    # Some clients (vscode-languageclient with an explicit stdio transport) add --stdio.
    p.add_argument("--stdio", action="store_true", help="speak LSP on stdio (the default)")
    p.set_defaults(fn=_serve)

    # Started by `baton serve` for its agent work (lsp/engine_process.py); not for people.
    p = sub.add_parser("engine")
    p.add_argument("--fd", type=int, required=True, help="the socket to `baton serve`")
    p.set_defaults(fn=_engine)

    p = sub.add_parser("run", help="run one task headless in this terminal")
    p.add_argument("--workspace", default=".", help="workspace root (default: .)")
    p.add_argument("--route", choices=["auto", "ask", "edit", "plan"], default="auto")
    p.add_argument("--yes", action="store_true", help="accept the plan without asking")
    p.add_argument("task", nargs="+")
    p.set_defaults(fn=_run)

    p = sub.add_parser("runs", help="list the journal's runs")
    p.add_argument("--workspace", default=".")
    p.set_defaults(fn=_runs)

    p = sub.add_parser("trust", help="trust the workspace's .baton/config.toml as it is now")
    p.add_argument("--workspace", default=".", help="workspace root (default: .)")
    p.set_defaults(fn=_trust)

    p = sub.add_parser("doctor", help="check configuration, providers, keys and sandboxing")
    p.add_argument("--workspace", default=".")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--probe", action="store_true", help="send a tiny request to each provider")
    p.set_defaults(fn=_doctor)

    args = parser.parse_args(argv)
    _logging(args.verbose)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        from .errors import BatonError
        if isinstance(e, BatonError):
            print(f"baton: {e}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
