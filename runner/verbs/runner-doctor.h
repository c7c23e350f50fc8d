/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* nsrun doctor: what this machine allows, found by doing it. */

int verb_doctor(int argc, char *argv[]);
