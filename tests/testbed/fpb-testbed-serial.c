/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading the guest's serial log: readiness, verification passes, oopses. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fpb-testbed-priv.h"

#define TAIL_LINES 30
#define POLL_MS 50

/* What a broken guest kernel prints; any of these fails a wait. */
static const char *const kernel_trouble[] = {
    "Kernel panic",
    "BUG:",
    "Oops:",
    "general protection fault",
    "list_add corruption",
    "list_del corruption",
    "stack-protector",
    "stack guard page",
    "Unable to handle",
    "kernel BUG at",
};

static void remember(FpbTestbedVm *vm, const char *line)
{
    g_queue_push_tail(vm->tail, g_strdup(line));
    while (g_queue_get_length(vm->tail) > TAIL_LINES) {
        g_free(g_queue_pop_head(vm->tail));
    }
}

char *fpb_testbed_vm_tail(FpbTestbedVm *vm)
{
    GString *s = g_string_new(NULL);
    for (GList *l = vm->tail->head; l; l = l->next) {
        g_string_append_printf(s, "\n  | %s", (const char *)l->data);
    }
    return g_string_free(s, FALSE);
}

static void note_hold_pfn(FpbTestbedVm *vm, const char *line)
{
    guint index = 0;
    guint64 pfn = 0;
    if (sscanf(line, "fpbw: hold-page index=%u pfn=0x%" G_GINT64_MODIFIER "x", &index, &pfn) == 2) {
        g_array_append_val(vm->hold_pfns, pfn);
    }
}

static gboolean is_trouble(const char *line)
{
    for (gsize i = 0; i < G_N_ELEMENTS(kernel_trouble); i++) {
        if (strstr(line, kernel_trouble[i])) {
            return TRUE;
        }
    }
    return strstr(line, "fpbw: error") || strstr(line, "fpb-guest: error") ||
           (strstr(line, "fpbw: pass ") && strstr(line, " bad="));
}

/* Reads what the log gained; calls judge per complete line. */
static FpbTestbedLineVerdict read_new_lines(FpbTestbedVm *vm, FpbTestbedLineJudge judge,
                                            gpointer data)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(vm->serial_path, &text, &len, NULL) || len <= vm->serial_offset) {
        return FPB_TESTBED_LINE_CONTINUE;
    }
    const char *p = text + vm->serial_offset;
    const char *end = text + len;
    vm->serial_offset = len;
    FpbTestbedLineVerdict verdict = FPB_TESTBED_LINE_CONTINUE;
    for (; p < end; p++) {
        if (*p != '\n') {
            if (*p != '\r' && *p != '\0') {
                g_string_append_c(vm->partial_line, *p);
            }
            continue;
        }
        g_autofree char *line = g_string_free(vm->partial_line, FALSE);
        vm->partial_line = g_string_new(NULL);
        remember(vm, line);
        note_hold_pfn(vm, line);
        if (verdict == FPB_TESTBED_LINE_CONTINUE) {
            verdict = is_trouble(line) ? FPB_TESTBED_LINE_FAIL : judge(vm, line, data);
        }
    }
    return verdict;
}

gboolean fpb_testbed_vm_wait_lines(FpbTestbedVm *vm, guint timeout_s, FpbTestbedLineJudge judge,
                                   gpointer data, const char *what, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    for (;;) {
        gboolean alive = fpb_testbed_vm_poll_exit(vm);
        FpbTestbedLineVerdict v = read_new_lines(vm, judge, data);
        if (v == FPB_TESTBED_LINE_DONE) {
            return TRUE;
        }
        g_autofree char *tail = NULL;
        if (v == FPB_TESTBED_LINE_FAIL) {
            tail = fpb_testbed_vm_tail(vm);
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_CORRUPTED,
                        "VM '%s': guest failed while waiting for %s:%s", vm->name, what, tail);
            return FALSE;
        }
        if (!alive) {
            tail = fpb_testbed_vm_tail(vm);
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_EXITED,
                        "VM '%s': QEMU exited while waiting for %s:%s", vm->name, what, tail);
            return FALSE;
        }
        if (g_get_monotonic_time() > deadline) {
            tail = fpb_testbed_vm_tail(vm);
            g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_TIMEOUT,
                        "VM '%s': no %s within %u s:%s", vm->name, what, timeout_s, tail);
            return FALSE;
        }
        g_usleep(POLL_MS * 1000);
    }
}

static gboolean is_ok_pass(const char *line)
{
    return g_str_has_prefix(line, "fpbw: pass ") && strstr(line, " ok ");
}

static FpbTestbedLineVerdict judge_ready(FpbTestbedVm *vm, const char *line, gpointer data)
{
    gboolean *seen_ready = data;
    (void)vm;
    if (g_str_has_prefix(line, "fpbw: ready")) {
        *seen_ready = TRUE;
    } else if (*seen_ready && is_ok_pass(line)) {
        return FPB_TESTBED_LINE_DONE;
    } else if (g_str_has_prefix(line, "fpb-guest: workload exited")) {
        return FPB_TESTBED_LINE_FAIL;
    }
    return FPB_TESTBED_LINE_CONTINUE;
}

gboolean fpb_testbed_vm_wait_ready(FpbTestbedVm *vm, guint timeout_s, GError **error)
{
    gboolean seen_ready = FALSE;
    return fpb_testbed_vm_wait_lines(vm, timeout_s, judge_ready, &seen_ready, "a ready workload",
                                     error);
}

static FpbTestbedLineVerdict judge_passes(FpbTestbedVm *vm, const char *line, gpointer data)
{
    guint *remaining = data;
    (void)vm;
    if (is_ok_pass(line) && --*remaining == 0) {
        return FPB_TESTBED_LINE_DONE;
    }
    if (g_str_has_prefix(line, "fpb-guest: workload exited")) {
        return FPB_TESTBED_LINE_FAIL;
    }
    return FPB_TESTBED_LINE_CONTINUE;
}

static FpbTestbedLineVerdict judge_drain(FpbTestbedVm *vm, const char *line, gpointer data)
{
    (void)vm;
    (void)line;
    (void)data;
    return FPB_TESTBED_LINE_CONTINUE;
}

gboolean fpb_testbed_vm_wait_verified(FpbTestbedVm *vm, guint passes, guint timeout_s,
                                      GError **error)
{
    /* Judge (for trouble) what is already logged, without counting it. */
    if (read_new_lines(vm, judge_drain, NULL) == FPB_TESTBED_LINE_FAIL) {
        g_autofree char *tail = fpb_testbed_vm_tail(vm);
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_CORRUPTED,
                    "VM '%s': guest reported a failure:%s", vm->name, tail);
        return FALSE;
    }
    /* The first pass to finish may have started before this call. */
    guint remaining = passes + 1;
    g_autofree char *what = g_strdup_printf("%u verified passes", passes);
    return fpb_testbed_vm_wait_lines(vm, timeout_s, judge_passes, &remaining, what, error);
}

gboolean fpb_testbed_vm_hold_pfn(FpbTestbedVm *vm, guint index, guint64 *ret_pfn, GError **error)
{
    if (index >= vm->hold_pfns->len) {
        g_set_error(error, FPB_TESTBED_ERROR, FPB_TESTBED_ERROR_SETUP,
                    "VM '%s': the workload printed %u hold-page lines, not %u", vm->name,
                    vm->hold_pfns->len, index + 1);
        return FALSE;
    }
    *ret_pfn = g_array_index(vm->hold_pfns, guint64, index);
    return TRUE;
}
