/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "log.h"
#include "runner-clean.h"
#include "runner-cli.h"
#include "runner-doctor.h"
#include "runner-exec.h"
#include "runner-merge.h"
#include "runner-options.h"
#include "runner-xdist.h"

int main(int argc, char *argv[]) {
        log_setup_from_env();
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
