/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun xdist -- pytest ...: pytest-xdist's workers, each an `nsrun exec` sandbox with a memory cap. */

int verb_xdist(int argc, char *argv[]);
