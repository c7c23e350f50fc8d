/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "runner.h"

void print_version(void) {
        printf("nsrun %s\n", NSRUN_VERSION);
        printf("features: +overlayfs +userns +libnl %csystemd\n", HAVE_SYSTEMD ? '+' : '-');
}

const char *option_name(char *argv[], int opt) {
        static char buf[3];

        /* getopt_long() sets optopt to a short option's letter; for a long one it is 0 (or its value), and the
         * whole argument is argv[optind - 1]. A letter inside a group ("-qx") is named on its own. */
        if (opt > 0 && opt < 0x100 && opt != '?' && opt != ':') {
                buf[0] = '-';
                buf[1] = (char) opt;
                return buf;
        }
        return argv[optind - 1];
}

int log_getopt_error(const char *verb, char *argv[], int c) {
        const char *prefix = verb ? verb : "", *sep = verb ? ": " : "", *help = verb ? " " : "";

        if (c == '?')
                return log_error("%s%sunknown option '%s'; see 'nsrun %s%s--help'", prefix, sep, option_name(argv, optopt),
                                 prefix, help),
                       -EINVAL;
        if (c == ':')
                return log_error("%s%soption '%s' needs a value; see 'nsrun %s%s--help'", prefix, sep,
                                 option_name(argv, optopt), prefix, help),
                       -EINVAL;
        return 0;
}

int find_command(int argc, char *argv[], int first, const char *verb) {
        for (int i = first; i < argc; i++)
                if (streq(argv[i], "--")) {
                        if (i + 1 >= argc)
                                return log_error("%s: no command after '--'; write: nsrun %s [OPTIONS] -- COMMAND [ARG...]",
                                                 verb, verb),
                                       -EINVAL;
                        return i;
                }
        for (int i = first; i < argc; i++)
                if (streq(argv[i], "-h") || streq(argv[i], "--help"))
                        return argc; /* help needs no command */
        return log_error("%s: missing '--' before the command; write: nsrun %s [OPTIONS] -- COMMAND [ARG...]", verb,
                         verb),
               -EINVAL;
}

int main(int argc, char *argv[]) {
        if (argc < 2)
                return log_error("no command given; write: nsrun [OPTIONS] -- COMMAND, or see 'nsrun --help'"),
                       EXIT_USAGE;
        if (streq(argv[1], "exec"))
                return verb_exec(argc - 1, argv + 1);
        if (streq(argv[1], "doctor"))
                return verb_doctor(argc - 1, argv + 1);
        if (streq(argv[1], "clean"))
                return verb_clean(argc - 1, argv + 1);
        if (streq(argv[1], "xdist"))
                return verb_xdist(argc - 1, argv + 1);
        if (streq(argv[1], "merge"))
                return verb_merge(argc - 1, argv + 1);
        if (streq(argv[1], "help"))
                return verb_help();
        return verb_run(argc, argv);
}
