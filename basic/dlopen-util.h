/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Optional libraries are loaded on first use, as systemd does (src/shared/dlfcn-util.h): linking libxml2 and
 * libsystemd would cost every nsrun start-up ~2-3 ms each for the libraries they pull in (ICU, libstdc++,
 * libgcrypt, ...), while only --junit and the systemd backend need them. */

#include <stddef.h>

/* Declares / defines the pointer through which the library's function is called: sym_<name>. */
#define DLSYM_PROTOTYPE(symbol) extern __typeof__(symbol) *sym_##symbol
#define DLSYM_FUNCTION(symbol) __typeof__(symbol) *sym_##symbol = NULL
/* An argument pair for dlopen_many_sym(): where to store it, and its name. */
#define DLSYM_ARG(symbol) ((void) sizeof(sym_##symbol = &symbol), (void **) &sym_##symbol), #symbol

/* Opens filename once (*dlp keeps it) and resolves every (void **, const char *) pair up to a NULL. Returns 0,
 * or -EOPNOTSUPP with *ret_error (if given) saying why (dlerror()'s text, valid until the next dl call). */
int dlopen_many_sym(void **dlp, const char *filename, const char **ret_error, ...);
