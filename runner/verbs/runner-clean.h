/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun clean: removes what killed runs left behind. */

int verb_clean(int argc, char *argv[]);
