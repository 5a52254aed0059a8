"""`langadapt recipes list | show NAME | cp NAME DEST`: the seed recipes that ship in the package.

    langadapt recipes list
    langadapt recipes show tibetan-llama2-7b
    langadapt recipes cp tibetan-llama2-7b my-run.yaml && langadapt run my-run.yaml --dry-run
"""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("recipes", help="List, show and copy the recipes shipped with langadapt.",
                       description="The seed recipes shipped with langadapt: list them, print one, or copy one "
                                   "to edit and run with `langadapt run`.")
    rsub = p.add_subparsers(dest="recipes_command", metavar="ACTION")
    ls = rsub.add_parser("list", help="Name, languages, base model and description of each recipe.")
    ls.set_defaults(func=_list)
    show = rsub.add_parser("show", help="Print a recipe's YAML.")
    show.add_argument("name", help="Recipe name (from `langadapt recipes list`).")
    show.set_defaults(func=_show)
    cp = rsub.add_parser("cp", help="Copy a recipe to a file or folder, to edit and run.")
    cp.add_argument("name", help="Recipe name (from `langadapt recipes list`).")
    cp.add_argument("dest", help="Destination file, or a folder (the file keeps the recipe's name).")
    cp.add_argument("--force", action="store_true", help="Overwrite an existing destination file.")
    cp.set_defaults(func=_cp)
    p.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    from langadapt.config.catalogue import list_recipes  # deferred: reads the shipped recipes; not for `--help`

    entries = list_recipes()
    width = max(len(e.name) for e in entries)
    for e in entries:
        print(f"{e.name:<{width}}  [{','.join(e.languages)}] {e.base_model}")
        if e.description:
            print(f"{'':<{width}}  {e.description}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from langadapt.config.catalogue import find_recipe  # deferred: see _list

    print(find_recipe(args.name).read_text(encoding="utf-8"), end="")
    return 0


def _cp(args: argparse.Namespace) -> int:
    from langadapt.config.catalogue import copy_recipe  # deferred: see _list

    target = copy_recipe(args.name, args.dest, force=args.force)
    print(f"copied {args.name} -> {target}\nrun it with: langadapt run {target} --dry-run")
    return 0
