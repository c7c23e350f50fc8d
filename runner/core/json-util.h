/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c's adapter: its cleanup helper, and typed reads of an object's members that tolerate any document (what
 * nsrun reads back from jobs and from earlier runs can hold anything). */

#include <json-c/json.h>
#include <stdbool.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* The member key of o if it is a string, else NULL. */
static inline const char *json_get_string(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

/* The member key of o if it is an array, else NULL. */
static inline json_object *json_get_array(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array) ? v : NULL;
}
