/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#if HAVE_SYSTEMD
#include "sd-bus-util.h"

static void *libsystemd;

DLSYM_FUNCTION(sd_bus_call);
DLSYM_FUNCTION(sd_bus_error_free);
DLSYM_FUNCTION(sd_bus_error_get_errno);
DLSYM_FUNCTION(sd_bus_error_is_set);
DLSYM_FUNCTION(sd_bus_flush_close_unref);
DLSYM_FUNCTION(sd_bus_is_bus_client);
DLSYM_FUNCTION(sd_bus_match_signal);
DLSYM_FUNCTION(sd_bus_message_append);
DLSYM_FUNCTION(sd_bus_message_close_container);
DLSYM_FUNCTION(sd_bus_message_new_method_call);
DLSYM_FUNCTION(sd_bus_message_open_container);
DLSYM_FUNCTION(sd_bus_message_read);
DLSYM_FUNCTION(sd_bus_message_unref);
DLSYM_FUNCTION(sd_bus_new);
DLSYM_FUNCTION(sd_bus_open_system);
DLSYM_FUNCTION(sd_bus_open_user);
DLSYM_FUNCTION(sd_bus_process);
DLSYM_FUNCTION(sd_bus_set_address);
DLSYM_FUNCTION(sd_bus_slot_unref);
DLSYM_FUNCTION(sd_bus_start);
DLSYM_FUNCTION(sd_bus_wait);

int dlopen_libsystemd(const char **ret_error) {
        return dlopen_many_sym(&libsystemd, "libsystemd.so.0", ret_error,
                               DLSYM_ARG(sd_bus_call),
                               DLSYM_ARG(sd_bus_error_free),
                               DLSYM_ARG(sd_bus_error_get_errno),
                               DLSYM_ARG(sd_bus_error_is_set),
                               DLSYM_ARG(sd_bus_flush_close_unref),
                               DLSYM_ARG(sd_bus_is_bus_client),
                               DLSYM_ARG(sd_bus_match_signal),
                               DLSYM_ARG(sd_bus_message_append),
                               DLSYM_ARG(sd_bus_message_close_container),
                               DLSYM_ARG(sd_bus_message_new_method_call),
                               DLSYM_ARG(sd_bus_message_open_container),
                               DLSYM_ARG(sd_bus_message_read),
                               DLSYM_ARG(sd_bus_message_unref),
                               DLSYM_ARG(sd_bus_new),
                               DLSYM_ARG(sd_bus_open_system),
                               DLSYM_ARG(sd_bus_open_user),
                               DLSYM_ARG(sd_bus_process),
                               DLSYM_ARG(sd_bus_set_address),
                               DLSYM_ARG(sd_bus_slot_unref),
                               DLSYM_ARG(sd_bus_start),
                               DLSYM_ARG(sd_bus_wait),
                               NULL);
}
#endif
