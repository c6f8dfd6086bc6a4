/* sd-lazy.c - libsystemd, loaded only when the systemd cgroup driver
 * first talks to systemd.
 *
 * Linking libsystemd made every mdrun command map it and the five
 * libraries it needs (libgcrypt, liblzma, libzstd, liblz4, libgpg-error)
 * and relocate them: about a third of the CPU time of `mdrun run` before
 * main(), twice for the commands that re-execute from a sealed copy
 * (protect.h), and their pages in the RSS; only --systemd-cgroup uses
 * them.  The functions of sd-bus.h that cgroup-systemd.c calls are defined
 * here under their own names and forward to libsystemd.so.0, opened with
 * dlopen(3) on the first call.  Without it they fail with -ELIBACC, which
 * the driver reports as any other sd-bus error.  sd_booted() needs no
 * library: it is the test of sd-daemon.h's documentation, done here. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#define LIBSYSTEMD "libsystemd.so.0"

static void *lazy_sym(const char *name)
{
    static void *lib;
    static bool tried;
    if (!tried) {
        tried = true;
        lib = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);
    }
    return lib ? dlsym(lib, name) : NULL;
}

/* Declares fn: libsystemd's NAME, or NULL, looked up on the first call. */
#define LAZY_FN(name)                             \
    static __typeof__(name) *fn;                  \
    if (!fn) {                                    \
        fn = (__typeof__(name) *)lazy_sym(#name); \
    }

/* RET NAME PARAMS: forward ARGS to libsystemd's NAME, MISSING without it. */
#define LAZY(ret, name, params, args, missing) \
    ret name params                            \
    {                                          \
        LAZY_FN(name)                          \
        return fn ? fn args : (missing);       \
    }

#define NO_LIB (-ELIBACC)

int sd_booted(void)
{
    return access("/run/systemd/system/", F_OK) == 0;
}

LAZY(int, sd_bus_open_system, (sd_bus * *ret), (ret), NO_LIB)
LAZY(int, sd_bus_open_user, (sd_bus * *ret), (ret), NO_LIB)
LAZY(int, sd_bus_new, (sd_bus * *ret), (ret), NO_LIB)
LAZY(int, sd_bus_set_address, (sd_bus * bus, const char *address), (bus, address), NO_LIB)
LAZY(int, sd_bus_start, (sd_bus * bus), (bus), NO_LIB)
LAZY(int, sd_bus_is_bus_client, (sd_bus * bus), (bus), NO_LIB)
LAZY(int, sd_bus_process, (sd_bus * bus, sd_bus_message **r), (bus, r), NO_LIB)
LAZY(int, sd_bus_wait, (sd_bus * bus, uint64_t timeout_usec), (bus, timeout_usec), NO_LIB)
LAZY(sd_bus *, sd_bus_unref, (sd_bus * bus), (bus), NULL)
LAZY(sd_bus *, sd_bus_flush_close_unref, (sd_bus * bus), (bus), NULL)
LAZY(sd_bus_slot *, sd_bus_slot_unref, (sd_bus_slot * slot), (slot), NULL)
LAZY(sd_bus_message *, sd_bus_message_unref, (sd_bus_message * m), (m), NULL)
LAZY(int, sd_bus_call,
     (sd_bus * bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
      sd_bus_message **reply),
     (bus, m, usec, ret_error, reply), NO_LIB)
LAZY(int, sd_bus_match_signal,
     (sd_bus * bus, sd_bus_slot **ret, const char *sender, const char *path, const char *interface,
      const char *member, sd_bus_message_handler_t callback, void *userdata),
     (bus, ret, sender, path, interface, member, callback, userdata), NO_LIB)
LAZY(int, sd_bus_get_property_string,
     (sd_bus * bus, const char *destination, const char *path, const char *interface,
      const char *member, sd_bus_error *ret_error, char **ret),
     (bus, destination, path, interface, member, ret_error, ret), NO_LIB)
LAZY(int, sd_bus_message_new_method_call,
     (sd_bus * bus, sd_bus_message **m, const char *destination, const char *path,
      const char *interface, const char *member),
     (bus, m, destination, path, interface, member), NO_LIB)
LAZY(int, sd_bus_message_append_array,
     (sd_bus_message * m, char type, const void *ptr, size_t size), (m, type, ptr, size), NO_LIB)
LAZY(int, sd_bus_message_open_container, (sd_bus_message * m, char type, const char *contents),
     (m, type, contents), NO_LIB)
LAZY(int, sd_bus_message_close_container, (sd_bus_message * m), (m), NO_LIB)
LAZY(int, sd_bus_path_encode, (const char *prefix, const char *external_id, char **ret_path),
     (prefix, external_id, ret_path), NO_LIB)
LAZY(int, sd_bus_error_get_errno, (const sd_bus_error *e), (e), 0)
LAZY(int, sd_bus_error_has_name, (const sd_bus_error *e, const char *name), (e, name), 0)
LAZY(int, sd_bus_error_is_set, (const sd_bus_error *e), (e), 0)

/* An error is only ever filled by the library: without it there is
 * nothing to free. */
void sd_bus_error_free(sd_bus_error *e)
{
    LAZY_FN(sd_bus_error_free)
    if (fn)
        fn(e);
}

/* The variadic ones forward to their va_list forms, VNAME: ARGS pass ap in
 * place of the arguments after LAST. */
#define LAZY_VA(name, vname, params, last, args) \
    int name params                              \
    {                                            \
        LAZY_FN(vname)                           \
        if (!fn)                                 \
            return NO_LIB;                       \
        va_list ap;                              \
        va_start(ap, last);                      \
        int r = fn args;                         \
        va_end(ap);                              \
        return r;                                \
    }

LAZY_VA(sd_bus_message_append, sd_bus_message_appendv, (sd_bus_message * m, const char *types, ...),
        types, (m, types, ap))
LAZY_VA(sd_bus_message_read, sd_bus_message_readv, (sd_bus_message * m, const char *types, ...),
        types, (m, types, ap))
LAZY_VA(sd_bus_call_method, sd_bus_call_methodv,
        (sd_bus * bus, const char *destination, const char *path, const char *interface,
         const char *member, sd_bus_error *ret_error, sd_bus_message **reply, const char *types,
         ...),
        types, (bus, destination, path, interface, member, ret_error, reply, types, ap))
