/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fpb_balloon_drive() against a fake guest (issue 20): a give-back that
 * stalls part-way asks for the full size again, is never frozen at a
 * shrunk size, and never writes anything but the full size persistently
 * (the libvirt step runs this same loop with virDomainSetMemoryFlags).
 * Against a guest that lies or stalls (issue 20 item 6): an inflation
 * that runs the guest short, or whose guest says it is low, is backed off
 * by the margin; one the host's resident count contradicts counts only
 * what the host saw go.
 */
#include <glib.h>

#include "fpb-balloon-step.h"

#define MIB (1024 * 1024LL)

typedef struct {
    gint64 actual;
    gint64 stuck_at;         /* the guest stops here until asked again */
    guint sets_before_whole; /* requests it needs before it goes all the way */
    GArray *sets;            /* gint64 sizes requested */
    GArray *persistent;      /* gboolean per request */
    gint64 free_bytes;       /* what its stats say, -1: nothing new */
    gint64 low_from;         /* its stats say 16 MiB free at or below this size */
    gint64 resident;         /* what the host holds, -1: not known */
    gboolean gives_back;     /* stuck only when inflating: takes back at once */
} FakeGuest;

static gboolean fake_free(gpointer ctx, gint64 *ret, GError **error)
{
    FakeGuest *g = ctx;

    (void)error;
    *ret = g->actual <= g->low_from ? 16 * MIB : g->free_bytes;
    return TRUE;
}

static gboolean fake_resident(gpointer ctx, gint64 *ret, GError **error)
{
    FakeGuest *g = ctx;

    if (g->resident < 0) {
        g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no smaps");
        return FALSE;
    }
    *ret = g->resident;
    return TRUE;
}

static gboolean fake_get(gpointer ctx, gint64 *ret, GError **error)
{
    (void)error;
    *ret = ((FakeGuest *)ctx)->actual;
    return TRUE;
}

static gboolean fake_set(gpointer ctx, gint64 bytes, gboolean persistent, GError **error)
{
    FakeGuest *g = ctx;

    (void)error;
    g_array_append_val(g->sets, bytes);
    g_array_append_val(g->persistent, persistent);
    if (g->sets->len >= g->sets_before_whole || (g->gives_back && bytes > g->actual)) {
        g->actual = bytes;
    } else if (bytes > g->actual) {
        g->actual = MIN(bytes, g->stuck_at);
    } else {
        g->actual = MAX(bytes, g->stuck_at);
    }
    return TRUE;
}

static void fake_init(FakeGuest *g, gint64 actual, gint64 stuck_at, guint sets_before_whole)
{
    *g = (FakeGuest){.actual = actual,
                     .stuck_at = stuck_at,
                     .sets_before_whole = sets_before_whole,
                     .sets = g_array_new(FALSE, FALSE, sizeof(gint64)),
                     .persistent = g_array_new(FALSE, FALSE, sizeof(gboolean)),
                     .free_bytes = -1,
                     .low_from = -1,
                     .resident = -1,
                     .gives_back = TRUE};
}

static void fake_clear(FakeGuest *g)
{
    g_array_unref(g->sets);
    g_array_unref(g->persistent);
}

static FpbBalloonBackend fake_backend(FakeGuest *g, gboolean persistent)
{
    return (FpbBalloonBackend){.get_size = fake_get,
                               .set_size = fake_set,
                               .ctx = g,
                               .persistent = persistent,
                               .always_set = TRUE,
                               .poll_ms = 2};
}

/* Nothing smaller than @full is ever written persistently. */
static void assert_persistent_only_full(const FakeGuest *g, gint64 full)
{
    for (guint i = 0; i < g->sets->len; i++) {
        if (g_array_index(g->persistent, gboolean, i)) {
            g_assert_cmpint(g_array_index(g->sets, gint64, i), ==, full);
        }
    }
}

/* Part-way on the first request, the rest on the next one. */
static void test_give_back_partial_then_rest(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 1024 * MIB, 1536 * MIB, 2);
    g.gives_back = FALSE;
    be = fake_backend(&g, TRUE);
    g_assert_true(fpb_balloon_drive(&be, 2048 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    g_assert_cmpint(step.reached_bytes, ==, 2048 * MIB);
    g_assert_cmpuint(g.sets->len, ==, 2);
    assert_persistent_only_full(&g, 2048 * MIB);
    fake_clear(&g);
}

/* Never all the way: stops after the re-requests, still asking for the
 * full size (no freeze at the shrunk size), reports the partial result. */
static void test_give_back_never_whole(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 1024 * MIB, 1536 * MIB, G_MAXUINT);
    g.gives_back = FALSE;
    be = fake_backend(&g, TRUE);
    g_assert_true(fpb_balloon_drive(&be, 2048 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_NO_PROGRESS);
    g_assert_cmpint(step.reached_bytes, ==, 1536 * MIB);
    g_assert_cmpuint(g.sets->len, ==, 1 + FPB_BALLOON_GIVE_BACK_REASKS);
    for (guint i = 0; i < g.sets->len; i++) {
        g_assert_cmpint(g_array_index(g.sets, gint64, i), ==, 2048 * MIB);
    }
    assert_persistent_only_full(&g, 2048 * MIB);
    fake_clear(&g);
}

/* The budget ends a give-back too, without a freeze. */
static void test_give_back_budget(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 1024 * MIB, 1536 * MIB, G_MAXUINT);
    g.gives_back = FALSE;
    be = fake_backend(&g, TRUE);
    g_assert_true(fpb_balloon_drive(&be, 2048 * MIB, 0.05, 10000, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_BUDGET);
    g_assert_cmpint(g_array_index(g.sets, gint64, g.sets->len - 1), ==, 2048 * MIB);
    assert_persistent_only_full(&g, 2048 * MIB);
    fake_clear(&g);
}

/* A partial inflation is frozen where it got to, live only, even when the
 * caller asked for persistent writes. */
static void test_inflate_partial_frozen_live(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 2048 * MIB, 1536 * MIB, G_MAXUINT);
    be = fake_backend(&g, TRUE);
    be.backoff_bytes = -1; /* frozen where it got to, no margin given back */
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_GUEST_SHORT);
    g_assert_cmpuint(g.sets->len, ==, 2); /* no re-request when taking memory */
    g_assert_cmpint(g_array_index(g.sets, gint64, 1), ==, 1536 * MIB);
    for (guint i = 0; i < g.persistent->len; i++) {
        g_assert_false(g_array_index(g.persistent, gboolean, i));
    }
    fake_clear(&g);
}

/* Already whole live: the persistent definition is still given the full
 * size (it came with the migration, inflated). */
static void test_already_whole_fixes_persistent(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 2048 * MIB, 0, 1);
    be = fake_backend(&g, TRUE);
    g_assert_true(fpb_balloon_drive(&be, 2048 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    g_assert_cmpuint(g.sets->len, ==, 1);
    g_assert_true(g_array_index(g.persistent, gboolean, 0));
    fake_clear(&g);
}

/* The guest gave 512 MiB, then nothing, short of the target: it ran out.
 * The balloon is set back by the margin (128 MiB for a 2 GiB guest), not
 * left at its last free page. */
static void test_inflate_short_backs_off(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 2048 * MIB, 1536 * MIB, G_MAXUINT);
    be = fake_backend(&g, FALSE);
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_GUEST_SHORT);
    g_assert_cmpint(step.stopped_at_bytes, ==, 1536 * MIB);
    g_assert_cmpint(step.reached_bytes, ==, 1664 * MIB);
    g_assert_cmpint(g_array_index(g.sets, gint64, g.sets->len - 1), ==, 1664 * MIB);
    g_assert_cmpint(g.actual, ==, 1664 * MIB);
    fake_clear(&g);
}

/* An inflation whose guest stops moving before it gave anything is an
 * unresponsive guest: no-progress, nothing to give back. */
static void test_inflate_never_moved(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 2048 * MIB, 2048 * MIB, G_MAXUINT);
    be = fake_backend(&g, FALSE);
    be.poll_ms = 50;
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 20.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_NO_PROGRESS);
    g_assert_cmpint(step.reached_bytes, ==, 2048 * MIB);
    fake_clear(&g);
}

/* Fresh stats saying 16 MiB free mid-inflation stop it, and the margin
 * goes back; stats saying nothing new do not. */
static void test_inflate_guest_low(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 2048 * MIB, 1024 * MIB, 1);
    g.low_from = 1024 * MIB;
    be = fake_backend(&g, FALSE);
    be.get_free = fake_free;
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 20, &step, NULL));
    /* the fake reaches the target at once: reaching it wins */
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    fake_clear(&g);

    fake_init(&g, 2048 * MIB, 1536 * MIB, G_MAXUINT);
    g.low_from = 1536 * MIB;
    be = fake_backend(&g, FALSE);
    be.get_free = fake_free;
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 5000, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_GUEST_LOW);
    g_assert_cmpint(step.guest_free_bytes, ==, 16 * MIB);
    g_assert_cmpint(step.stopped_at_bytes, ==, 1536 * MIB);
    g_assert_cmpint(g.actual, ==, 1664 * MIB);
    g_assert_cmpint(step.reached_bytes, ==, 1664 * MIB);
    fake_clear(&g);
}

/* The guest says it reached the target, the host still holds 1900 MiB of
 * it: nothing counts, and the balloon is set back to the full size. A
 * resident count that cannot be read changes nothing. */
static void test_inflate_not_given(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 2048 * MIB, 1024 * MIB, 1);
    g.resident = 1900 * MIB;
    be = fake_backend(&g, FALSE);
    be.get_resident = fake_resident;
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_NOT_GIVEN);
    g_assert_cmpint(step.stopped_at_bytes, ==, 1024 * MIB);
    g_assert_cmpint(step.reached_bytes, ==, 2048 * MIB);
    g_assert_cmpint(g_array_index(g.sets, gint64, g.sets->len - 1), ==, 2048 * MIB);
    fake_clear(&g);

    fake_init(&g, 2048 * MIB, 1024 * MIB, 1);
    g.resident = 1000 * MIB; /* honest: less than the balloon leaves it */
    be = fake_backend(&g, FALSE);
    be.get_resident = fake_resident;
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    g_assert_cmpint(step.reached_bytes, ==, 1024 * MIB);
    fake_clear(&g);

    fake_init(&g, 2048 * MIB, 1024 * MIB, 1);
    be = fake_backend(&g, FALSE);
    be.get_resident = fake_resident; /* fails: no smaps */
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    fake_clear(&g);
}

/* An inflation smaller than the tolerance (700 KiB: what the policy asks
 * of a guest whose free memory is nearly all zero pages) is not asked: the
 * guest would take it after the step returned "target" at the full size,
 * and nothing would give it back (seen through libvirt, issue 20). The
 * give-back to the full size is still asked (the persistent definition). */
static void test_inflate_within_tolerance_not_asked(void)
{
    FakeGuest g;
    FpbBalloonBackend be;
    FpbBalloonStep step;

    fake_init(&g, 1024 * MIB, 0, 1);
    be = fake_backend(&g, TRUE);
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB - 700 * 1024, 10.0, 20, &step, NULL));
    g_assert_cmpstr(step.stopped, ==, FPB_BALLOON_STOPPED_TARGET);
    g_assert_cmpint(step.reached_bytes, ==, 1024 * MIB);
    g_assert_cmpuint(g.sets->len, ==, 0);
    g_assert_cmpint(g.actual, ==, 1024 * MIB);
    g_assert_true(fpb_balloon_drive(&be, 1024 * MIB, 10.0, 20, &step, NULL));
    g_assert_cmpuint(g.sets->len, ==, 1);
    g_assert_cmpint(g_array_index(g.sets, gint64, 0), ==, 1024 * MIB);
    fake_clear(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/balloon/drive/give-back-partial-then-rest", test_give_back_partial_then_rest);
    g_test_add_func("/balloon/drive/give-back-never-whole", test_give_back_never_whole);
    g_test_add_func("/balloon/drive/give-back-budget", test_give_back_budget);
    g_test_add_func("/balloon/drive/inflate-partial-frozen-live", test_inflate_partial_frozen_live);
    g_test_add_func("/balloon/drive/inflate-short-backs-off", test_inflate_short_backs_off);
    g_test_add_func("/balloon/drive/inflate-never-moved", test_inflate_never_moved);
    g_test_add_func("/balloon/drive/inflate-guest-low", test_inflate_guest_low);
    g_test_add_func("/balloon/drive/inflate-not-given", test_inflate_not_given);
    g_test_add_func("/balloon/drive/already-whole-fixes-persistent",
                    test_already_whole_fixes_persistent);
    g_test_add_func("/balloon/drive/inflate-within-tolerance-not-asked",
                    test_inflate_within_tolerance_not_asked);
    return g_test_run();
}
