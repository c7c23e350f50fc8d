/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one place cgroup/ adapts libsystemd's sd-bus: the functions, loaded with dlopen() when the systemd backend
 * is first needed (see basic/dlopen-util.h); cleanup helpers; and its errors as -errno. sd-bus already returns
 * -errno; a D-Bus error reply carries its own, which sd_bus_error_get_errno() maps. */

#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "dlopen-util.h"
#include "macro.h"

DLSYM_PROTOTYPE(sd_bus_call);
DLSYM_PROTOTYPE(sd_bus_error_free);
DLSYM_PROTOTYPE(sd_bus_error_get_errno);
DLSYM_PROTOTYPE(sd_bus_error_is_set);
DLSYM_PROTOTYPE(sd_bus_flush_close_unref);
DLSYM_PROTOTYPE(sd_bus_is_bus_client);
DLSYM_PROTOTYPE(sd_bus_match_signal);
DLSYM_PROTOTYPE(sd_bus_message_append);
DLSYM_PROTOTYPE(sd_bus_message_close_container);
DLSYM_PROTOTYPE(sd_bus_message_new_method_call);
DLSYM_PROTOTYPE(sd_bus_message_open_container);
DLSYM_PROTOTYPE(sd_bus_message_read);
DLSYM_PROTOTYPE(sd_bus_message_unref);
DLSYM_PROTOTYPE(sd_bus_new);
DLSYM_PROTOTYPE(sd_bus_open_system);
DLSYM_PROTOTYPE(sd_bus_open_user);
DLSYM_PROTOTYPE(sd_bus_process);
DLSYM_PROTOTYPE(sd_bus_set_address);
DLSYM_PROTOTYPE(sd_bus_slot_unref);
DLSYM_PROTOTYPE(sd_bus_start);
DLSYM_PROTOTYPE(sd_bus_wait);

/* Loads libsystemd.so.0; -EOPNOTSUPP with *ret_error saying why when it is not there. */
int dlopen_libsystemd(const char **ret_error);

static inline void bus_flush_close_unrefp(sd_bus **b) {
        if (*b)
                sym_sd_bus_flush_close_unref(*b);
}
static inline void bus_message_unrefp(sd_bus_message **m) {
        if (*m)
                sym_sd_bus_message_unref(*m);
}
static inline void bus_slot_unrefp(sd_bus_slot **s) {
        if (*s)
                sym_sd_bus_slot_unref(*s);
}
static inline void bus_error_freep(sd_bus_error *e) {
        if (sym_sd_bus_error_free)
                sym_sd_bus_error_free(e);
}

#define _cleanup_bus_ _cleanup_(bus_flush_close_unrefp)
#define _cleanup_bus_message_ _cleanup_(bus_message_unrefp)
#define _cleanup_bus_slot_ _cleanup_(bus_slot_unrefp)
#define _cleanup_bus_error_ _cleanup_(bus_error_freep)

/* The errno of a failed call: the reply's error if there was one, else sd-bus's own return value. */
static inline int bus_error_errno(const sd_bus_error *e, int r) {
        if (e && sym_sd_bus_error_is_set(e)) {
                int k = sym_sd_bus_error_get_errno(e);
                if (k > 0)
                        return -k;
        }
        return r < 0 ? r : -EIO;
}

/* A message for people: the D-Bus error's text if there is one, else strerror. */
static inline const char *bus_error_message(const sd_bus_error *e, int r) {
        if (e && sym_sd_bus_error_is_set(e) && e->message)
                return e->message;
        return strerror(r < 0 ? -r : r);
}
