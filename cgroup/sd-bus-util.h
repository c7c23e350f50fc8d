/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one place cgroup/ adapts libsystemd's sd-bus: cleanup helpers and its errors as -errno. sd-bus already
 * returns -errno; a D-Bus error reply carries its own, which sd_bus_error_get_errno() maps. */

#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define _cleanup_bus_ _cleanup_(sd_bus_flush_close_unrefp)
#define _cleanup_bus_message_ _cleanup_(sd_bus_message_unrefp)
#define _cleanup_bus_slot_ _cleanup_(sd_bus_slot_unrefp)
#define _cleanup_bus_error_ _cleanup_(sd_bus_error_free)

/* The errno of a failed call: the reply's error if there was one, else sd-bus's own return value. */
static inline int bus_error_errno(const sd_bus_error *e, int r) {
        if (e && sd_bus_error_is_set(e)) {
                int k = sd_bus_error_get_errno(e);
                if (k > 0)
                        return -k;
        }
        return r < 0 ? r : -EIO;
}

/* A message for people: the D-Bus error's text if there is one, else strerror. */
static inline const char *bus_error_message(const sd_bus_error *e, int r) {
        if (e && sd_bus_error_is_set(e) && e->message)
                return e->message;
        return strerror(r < 0 ? -r : r);
}
