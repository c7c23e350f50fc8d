#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man page and the shell completions against the binary's own --help, in both directions: every option
that `nsrun --help`, `nsrun exec --help`, `nsrun doctor --help` and `nsrun clean --help` lists is documented
in docs/nsrun.1.scd under its command, every option the man page documents exists, and every option is
offered by the bash, zsh and fish completions. Prints TAP.

Environment: NSRUN (the binary), NSRUN_SRC (the source tree)."""

import os
import re
import shutil
import subprocess
import sys

NSRUN = os.environ["NSRUN"]
SRC = os.environ["NSRUN_SRC"]
MAN = os.path.join(SRC, "docs", "nsrun.1.scd")
COMPLETIONS = os.path.join(SRC, "packaging", "completions")

n = failed = 0


def ok(cond, desc, diag=""):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {desc}")
    if not cond and diag:
        for line in str(diag).splitlines():
            print(f"# {line}")


def help_text(*verb):
    p = subprocess.run([NSRUN, *verb, "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"Bail out! {NSRUN} {' '.join(verb)} --help exited {p.returncode}: {p.stderr}")
    return p.stdout


# An option line of --help: "  -j, --jobs N    ..." or "      --dry-run   ...". Continuation lines of a
# description never start with '-'.
HELP_OPTION = re.compile(r"^ {2,6}((?:-[A-Za-z], )?--[a-z0-9-]+)")


def help_options(text):
    opts = set()
    for line in text.splitlines():
        m = HELP_OPTION.match(line)
        if m:
            opts.update(o.strip() for o in m.group(1).split(","))
    return opts


def help_commands(text):
    section = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return {line.split()[0] for line in section.splitlines() if line.strip()}


def man_sections(path):
    """'# TITLE' -> the option names of its definition terms (lines starting '*-')."""
    sections, title = {}, None
    with open(path) as f:
        for line in f:
            if line.startswith("# "):
                title = line[2:].strip()
                sections[title] = {"options": set(), "terms": set()}
            elif title and line.startswith("*"):
                sections[title]["terms"].update(re.findall(r"^\*([a-z]+)\*$", line.strip()))
                if line.startswith("*-"):
                    sections[title]["options"].update(re.findall(r"\*(-{1,2}[A-Za-z0-9-]+)\*", line))
    return sections


def both_ways(what, in_help, in_man):
    ok(in_help <= in_man, f"{what}: every option of --help is in the man page",
       f"missing from the man page: {sorted(in_help - in_man)}")
    ok(in_man <= in_help, f"{what}: every option in the man page is in --help",
       f"not in --help: {sorted(in_man - in_help)}")


def mentions(text, opt, shell):
    if shell == "fish":
        pat = rf"-l {re.escape(opt[2:])}\b(?!-)" if opt.startswith("--") else rf"-s {re.escape(opt[1:])}\b"
    else:
        pat = rf"(?<![A-Za-z0-9-]){re.escape(opt)}(?![A-Za-z0-9-])"
    return re.search(pat, text) is not None


def main():
    helps = {"nsrun": help_text()}
    cmds = help_commands(helps["nsrun"])
    ok("help" in cmds, "--help lists 'help' among the commands", sorted(cmds))
    cmds.discard("help")  # 'nsrun help' is --help itself
    for verb, text in (("nsrun", helps["nsrun"]), ("nsrun exec", help_text("exec"))):
        wide = [line for line in text.splitlines() if len(line) > 80]
        ok(not wide, f"{verb} --help fits in 80 columns", "\n".join(wide))
    for c in sorted(cmds):
        helps[c] = help_text(c)
    opts = {k: help_options(v) for k, v in helps.items()}
    ok(len(opts["nsrun"]) >= 25 and len(opts.get("exec", ())) >= 10 and {"doctor", "clean"} <= cmds,
       "the commands and the option lines of --help are recognised", opts)

    man = man_sections(MAN)
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "SANDBOX OPTIONS", "EXIT STATUS",
              "ENVIRONMENT", "FILES", "EXAMPLES") + tuple(f"{c.upper()} OPTIONS" for c in sorted(cmds)):
        ok(s in man, f"the man page has a {s} section")
    sandbox = man["SANDBOX OPTIONS"]["options"]
    # --keep-writes is nsrun exec's alone (its entry says so): a run of jobs refuses it
    both_ways("nsrun", opts["nsrun"], man["OPTIONS"]["options"] | (sandbox - {"--keep-writes"}))
    for c in sorted(cmds):
        section = man.get(f"{c.upper()} OPTIONS", {"options": set()})["options"]
        both_ways(f"nsrun {c}", opts[c], section | (sandbox if c == "exec" else set()))
    ok(cmds == man["COMMANDS"]["terms"] - {"help"}, "the commands of --help are those of the man page",
       f"--help: {sorted(cmds)}, man page: {sorted(man['COMMANDS']['terms'])}")
    exit_status = open(MAN).read().split("# EXIT STATUS", 1)[1].split("\n# ", 1)[0]
    for c in sorted(cmds):
        ok(f"## nsrun {c}\n" in exit_status, f"EXIT STATUS documents nsrun {c}")

    with open(MAN) as f:
        text = f.read()
    for var in ("NSRUN_CACHE_DIR", "NSRUN_PYTEST_DIR", "NO_COLOR", "NSRUN_SANDBOX", "NSRUN_WORKER",
                "NSRUN_WORKERS", "NSRUN_JOB"):
        ok(f"*{var}*" in text.split("# ENVIRONMENT", 1)[1].split("\n# ", 1)[0], f"ENVIRONMENT documents {var}")
    for f_ in (".nsrun/history.json", ".nsrun/logs/"):
        ok(f_ in text.split("# FILES", 1)[1].split("\n# ", 1)[0], f"FILES documents {f_}")
    for code in ("0", "1", "2", "3", "123", "125", "126", "127"):
        ok(f"*{code}*" in text.split("# EXIT STATUS", 1)[1].split("\n# ", 1)[0], f"EXIT STATUS documents {code}")

    every = set().union(*opts.values())
    for name, shell in (("nsrun.bash", "bash"), ("_nsrun", "zsh"), ("nsrun.fish", "fish")):
        with open(os.path.join(COMPLETIONS, name)) as f:
            comp = f.read()
        missing = sorted(o for o in every if not mentions(comp, o, shell))
        ok(not missing, f"the {shell} completion offers every option", f"missing: {missing}")
        ok(all(re.search(rf"\b{c}\b", comp) for c in cmds), f"the {shell} completion offers the commands")

    checks = (("bash", ["bash", "-n"]), ("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"]))
    for (shell, cmd), name in zip(checks, ("nsrun.bash", "_nsrun", "nsrun.fish")):
        if not shutil.which(cmd[0]):
            print(f"ok {n + 1} - # SKIP {shell} is not installed")
            globals()["n"] += 1
            continue
        p = subprocess.run(cmd + [os.path.join(COMPLETIONS, name)], capture_output=True, text=True)
        ok(p.returncode == 0, f"the {shell} completion parses", p.stderr)

    if shutil.which("scdoc"):
        with open(MAN) as f:
            p = subprocess.run(["scdoc"], stdin=f, capture_output=True, text=True)
        ok(p.returncode == 0, "scdoc turns the man page into roff", p.stderr)
        if p.returncode == 0 and shutil.which("groff"):
            g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=p.stdout, capture_output=True,
                               text=True)
            ok(g.returncode == 0 and not g.stderr, "groff renders it without warnings", g.stderr)

    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
