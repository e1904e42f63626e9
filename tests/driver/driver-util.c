/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver-util.h"
#include "fpb-qmp-balloon.h"
#include "fpb-qmp-client.h"
#include "fpb-qmp-hints.h"

#define BOOT_TIMEOUT_S 400
#define MIGRATE_TIMEOUT_S 400
#define VERIFY_TIMEOUT_S 180
#define BALLOON_TIMEOUT_S 240

gboolean drv_guest_has_module(char **ret_why)
{
    const char *dir = g_getenv("FPB_GUEST_DIR");
    g_autofree char *path = g_build_filename(dir ? dir : ".", "guest-modules", NULL);
    g_autofree char *text = NULL;
    if (!dir || !g_file_get_contents(path, &text, NULL, NULL)) {
        *ret_why = g_strdup_printf("%s is missing (is the test guest built?)", path);
        return FALSE;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l; l++) {
        if (g_str_equal(g_strstrip(*l), "fpb_balloon")) {
            return TRUE;
        }
    }
    *ret_why = g_strdup("the test guest has no fpb_balloon.ko: install the guest kernel's "
                        "headers (scripts/install-deps) and reconfigure");
    return FALSE;
}

gboolean drv_test_init(int *argc, char ***argv, gboolean keep_going, int *ret_status)
{
    gboolean tap = FALSE;
    g_autofree char *why = NULL;

    /* before g_test_init, which takes --tap out of argv */
    for (int i = 1; i < *argc; i++) {
        tap = tap || g_str_equal((*argv)[i], "--tap");
    }
    if (keep_going) {
        /* kept for the process's life: GLib keeps pointers into argv */
        char **args = g_new0(char *, *argc + 2);

        memcpy(args, *argv, sizeof(char *) * (gsize)*argc);
        args[(*argc)++] = (char *)"--keep-going";
        *argv = args;
    }
    g_test_init(argc, argv, NULL);
    if (drv_guest_has_module(&why)) {
        return TRUE;
    }
    if (tap) {
        printf("1..0 # SKIP %s\n", why);
        *ret_status = 0;
    } else {
        g_printerr("skipped: %s\n", why);
        *ret_status = 77;
    }
    return FALSE;
}

void drv_run_init(DrvRun *run, const char *driver, guint mem_mib)
{
    memset(run, 0, sizeof(*run));
    fpb_testbed_guest_init(&run->guest);
    run->guest.mem_mib = mem_mib;
    run->guest.balloon_driver = driver;
    run->guest.free_page_hint = TRUE;
    run->verify_passes = 3;
}

static guint64 field_u64(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    return p ? g_ascii_strtoull(p + strlen(key), NULL, 10) : 0;
}

/* The trace clock of an "fpb-trace: ... 12.345678: hint_begin: ..." line. */
static gboolean trace_time(const char *line, const char *event, double *ret)
{
    const char *e = strstr(line, event);
    if (!e) {
        return FALSE;
    }
    /* walk back over ": " and the number */
    const char *end = e;
    while (end > line && (end[-1] == ' ' || end[-1] == ':')) {
        end--;
    }
    const char *start = end;
    while (start > line && (g_ascii_isdigit(start[-1]) || start[-1] == '.')) {
        start--;
    }
    if (start == end) {
        return FALSE;
    }
    g_autofree char *num = g_strndup(start, end - start);
    *ret = g_ascii_strtod(num, NULL);
    return TRUE;
}

void drv_parse_hint_log(const char *text, DrvHintLog *ret)
{
    memset(ret, 0, sizeof(*ret));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    double begin = -1;
    for (char **l = lines; *l; l++) {
        const char *line = *l;
        double t;
        if (strstr(line, "fpb_balloon: hint cmd=")) {
            ret->cmds++;
            if (strstr(line, "result=complete")) {
                ret->complete++;
            }
            ret->pages += field_u64(line, " pages=");
            ret->ranges += field_u64(line, " ranges=");
            ret->lock_holds += field_u64(line, " lock_holds=");
            guint64 w = field_u64(line, " walk_us=");
            ret->walk_us += w;
            ret->max_walk_us = MAX(ret->max_walk_us, w);
            ret->max_lock_us = MAX(ret->max_lock_us, field_u64(line, " max_lock_us="));
        } else if (strstr(line, "fpb_balloon: reclaim req=")) {
            ret->reclaims++;
            ret->reclaim_splits += field_u64(line, " split=") > 0;
            ret->reclaim_cache_drops += strstr(line, " cache=dropped") != NULL;
            ret->reclaim_freed_pages += field_u64(line, " freed_pages=");
            ret->reclaim_us += field_u64(line, " us=");
        } else if (strstr(line, "fpb-trace:") && trace_time(line, "hint_begin:", &t)) {
            begin = t;
        } else if (strstr(line, "fpb-trace:") && trace_time(line, "hint_end:", &t) && begin >= 0) {
            double ms = (t - begin) * 1000.0;
            ret->traced_calls++;
            ret->traced_total_ms += ms;
            ret->traced_max_ms = MAX(ret->traced_max_ms, ms);
            begin = -1;
        }
    }
}

static gboolean balloon_to(FpbTestbedVm *vm, guint64 target_mib, double *ret_s, guint64 *ret_actual,
                           GError **error)
{
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(vm), 5000, error);
    if (!qmp) {
        return FALSE;
    }
    guint64 target = target_mib << 20, actual = 0;
    gint64 t0 = g_get_monotonic_time();
    if (!fpb_qmp_balloon_set_target(qmp, target, error)) {
        return FALSE;
    }
    guint64 last = 0;
    gint64 last_change = t0;
    while (TRUE) {
        if (!fpb_qmp_query_balloon(qmp, &actual, error)) {
            return FALSE;
        }
        gint64 now = g_get_monotonic_time();
        if (actual == target) {
            break;
        }
        if (actual != last) {
            last = actual;
            last_change = now;
        }
        if (now - t0 > (gint64)BALLOON_TIMEOUT_S * G_USEC_PER_SEC ||
            now - last_change > 20 * G_USEC_PER_SEC) {
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                        "balloon on '%s' stuck at %" G_GUINT64_FORMAT
                        " MiB, target %" G_GUINT64_FORMAT " MiB",
                        fpb_testbed_vm_name(vm), actual >> 20, target_mib);
            return FALSE;
        }
        g_usleep(100 * 1000);
    }
    *ret_s = (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
    *ret_actual = actual;
    return TRUE;
}

/* Keeps both serial logs of a failed run (of every run with
 * FPB_DRIVER_KEEP_SERIALS=1), where the test bed's temporary
 * directory would lose them: FPB_BUILD_ROOT/meson-logs/fpb-driver-failures/. */
static void keep_serials(FpbTestbedVm *const *vms, gsize n)
{
    const char *root = g_getenv("FPB_BUILD_ROOT");
    g_autofree char *dir = g_build_filename(root && *root ? root : g_get_tmp_dir(), "meson-logs",
                                            "fpb-driver-failures", NULL);
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        return;
    }
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
    for (gsize i = 0; i < n; i++) {
        g_autofree char *text = NULL;
        gsize len = 0;
        if (!vms[i] ||
            !g_file_get_contents(fpb_testbed_vm_serial_path(vms[i]), &text, &len, NULL)) {
            continue;
        }
        g_autofree char *name =
            g_strdup_printf("%s-%d-%s.serial", stamp, (int)getpid(), fpb_testbed_vm_name(vms[i]));
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_set_contents(path, text, len, NULL)) {
            g_printerr("# serial log kept: %s\n", path);
        }
    }
}

static gboolean migrate_once(const DrvRun *run, DrvResult *ret, FpbTestbed *tb, FpbTestbedVm **vms,
                             GError **error);

static gboolean ask_reclaim(FpbTestbedVm *vm, const DrvRun *run, GError **error)
{
    g_autoptr(FpbQmpClient) qmp = fpb_qmp_client_connect(fpb_testbed_vm_qmp_path(vm), 5000, error);
    return qmp &&
           fpb_qmp_balloon_set_reclaim(qmp, "/machine/peripheral/balloon0", run->reclaim_what,
                                       run->reclaim_cache_mib, error) &&
           fpb_qmp_balloon_wait_reclaim(qmp, "/machine/peripheral/balloon0", 60000, error);
}

/* What the source's console said of its memory before the migrate command. */
static void read_memsnap(FpbTestbedVm *vm, DrvResult *ret)
{
    g_autofree char *serial = NULL;
    ret->memsnap[0] = '\0';
    if (!g_file_get_contents(fpb_testbed_vm_serial_path(vm), &serial, NULL, NULL)) {
        return;
    }
    const char *p = g_strrstr(serial, "fpb-guest: memsnap ");
    if (p) {
        g_strlcpy(ret->memsnap, p, MIN(sizeof(ret->memsnap), strcspn(p, "\r\n") + 1));
    }
    p = strstr(serial, "fpb-guest: reclaim what=");
    p = p ? strstr(p, " s=") : NULL;
    ret->reclaim_s = p ? g_ascii_strtod(p + 3, NULL) : 0;
}

gboolean drv_migrate(const DrvRun *run, DrvResult *ret, GError **error)
{
    memset(ret, 0, sizeof(*ret));
    g_autoptr(FpbTestbed) tb = fpb_testbed_new(error);
    if (!tb) {
        return FALSE;
    }
    FpbTestbedVm *vms[2] = {NULL, NULL};
    gboolean ok = migrate_once(run, ret, tb, vms, error);
    const char *keep = g_getenv("FPB_DRIVER_KEEP_SERIALS");
    if (!ok || (keep && *keep && strcmp(keep, "0") != 0)) {
        keep_serials(vms, G_N_ELEMENTS(vms));
    }
    return ok;
}

static gboolean migrate_once(const DrvRun *run, DrvResult *ret, FpbTestbed *tb, FpbTestbedVm **vms,
                             GError **error)
{
    FpbTestbedVm *src = fpb_testbed_start_source(tb, "src", &run->guest, error);
    if (!src) {
        return FALSE;
    }
    vms[0] = src;
    if (!fpb_testbed_vm_wait_ready(src, BOOT_TIMEOUT_S, error)) {
        return FALSE;
    }
    if (run->balloon_target_mib && !balloon_to(src, run->balloon_target_mib, &ret->inflate_s,
                                               &ret->actual_after_inflate, error)) {
        return FALSE;
    }
    /* The destination starts only now: two TCG guests booting at once on
     * a 2-core machine slow the source's workload setup. */
    FpbTestbedVm *dst = fpb_testbed_start_destination(tb, "dst", &run->guest, FALSE, error);
    if (!dst) {
        return FALSE;
    }
    vms[1] = dst;
    if (run->settle_s) {
        g_usleep(run->settle_s * G_USEC_PER_SEC);
    }
    read_memsnap(src, ret);
    if (run->reclaim_what && !ask_reclaim(src, run, error)) {
        return FALSE;
    }
    const char *const no_hints[] = {"postcopy-ram", NULL};
    if (!fpb_testbed_migrate(src, dst, run->no_hints_capability ? no_hints : NULL,
                             MIGRATE_TIMEOUT_S, &ret->mig, error)) {
        return FALSE;
    }
    g_autofree char *serial = NULL;
    if (g_file_get_contents(fpb_testbed_vm_serial_path(src), &serial, NULL, NULL)) {
        drv_parse_hint_log(serial, &ret->hints);
    }
    if (strcmp(ret->mig.status, "completed") != 0) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_MIGRATION, "migration %s",
                    ret->mig.status);
        return FALSE;
    }
    if (!fpb_testbed_vm_wait_verified(dst, run->verify_passes, VERIFY_TIMEOUT_S, error)) {
        return FALSE;
    }
    if (run->balloon_target_mib && run->deflate_on_destination) {
        if (!balloon_to(dst, run->guest.mem_mib, &ret->deflate_s, &ret->actual_after_deflate,
                        error) ||
            !fpb_testbed_vm_wait_verified(dst, 2, VERIFY_TIMEOUT_S, error)) {
            return FALSE;
        }
    }
    return TRUE;
}
