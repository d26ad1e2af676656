"""`python -m civindex users …`: local accounts (add, list, remove, set-role, passwd)."""

from __future__ import annotations

import getpass
import sys

from civindex import audit, auth
from civindex.store import Store


def _read_password(confirm: bool = True) -> str:
    """From the terminal, asked twice; from stdin (first line) when it is not a terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if confirm and getpass.getpass("again: ") != first:
        raise auth.AccountError("the two passwords differ")
    return first


def cmd_users(args, store: Store) -> int:
    root = store.root
    try:
        match args.users_command:
            case "add":
                auth.add_user(root, args.name, args.role, _read_password())
                print(f"added {args.name} ({args.role})")
            case "list":
                accounts = auth.load_accounts(root)
                if not accounts:
                    print("no accounts")
                for name, account in sorted(accounts.items()):
                    print(f"{name:24} {account['role']:8} created {account['created_at']}")
            case "remove":
                auth.remove_user(root, args.name)
                print(f"removed {args.name}")
            case "set-role":
                auth.set_role(root, args.name, args.role)
                print(f"{args.name} is now {args.role}")
            case "passwd":
                auth.set_password(root, args.name, _read_password())
                print(f"password of {args.name} changed")
    except auth.AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.users_command != "list":
        audit.record(
            root,
            f"users.{args.users_command}",
            args.user,
            target=args.name,
            role=getattr(args, "role", ""),
        )
    return 0


def add_parser(commands) -> None:
    parser = commands.add_parser("users", help="manage local accounts")
    users = parser.add_subparsers(dest="users_command", required=True)
    p = users.add_parser("add", help="add an account (password from stdin or asked twice)")
    p.add_argument("name")
    p.add_argument("--role", choices=auth.ROLES, required=True)
    users.add_parser("list", help="list accounts and roles")
    p = users.add_parser("remove", help="remove an account")
    p.add_argument("name")
    p = users.add_parser("set-role", help="change an account's role")
    p.add_argument("name")
    p.add_argument("role", choices=auth.ROLES)
    p = users.add_parser("passwd", help="set a new password")
    p.add_argument("name")
    parser.set_defaults(handler=cmd_users)
