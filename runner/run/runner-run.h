/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "runner-context.h"

/* Runs every job of rc->src.jobs in rc->order on rc->plan.workers workers. */
int run_jobs(RunContext *rc);
