/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun merge: the shards' reports made one, their times kept in the history. */

int verb_merge(int argc, char *argv[]);
