/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runner-context.h"

struct json_object;

/* pytest's last collection, in runner-collect.c: reused while the command, what pytest reads from the
 * environment, nsrun's plugin and every file of the project (and of the packages of tests outside it) are the
 * same, by content, and so is --setup's command. load returns 1 and the plugin's document in
 * *ret when it may be reused, else 0; store keeps doc, quietly (a cache). */
int collect_cache_load(const SourceContext *c, char **command, struct json_object **ret);
void collect_cache_store(const SourceContext *c, char **command, struct json_object *doc);
