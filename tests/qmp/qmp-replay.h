/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A client against a FakeQmpServer replaying a recording, and the check
 * that the helpers sent exactly what was recorded: shared by the unit tests
 * of the typed helpers (test-qmp-helpers, test-qmp-hints). */
#pragma once

#include "fake-qmp-server.h"
#include "fpb-qmp-client.h"

G_BEGIN_DECLS

/* Starts @server and connects a client to it; asserts on failure. */
FpbQmpClient *qmp_replay_serve(FakeQmpServer *server);
/* Frees @client, waits for the script, fails the test if it went wrong. */
void qmp_replay_finish(FakeQmpServer *server, FpbQmpClient *client);
/* Every request the client sent equals the recorded one (ids aside), so the
 * helpers build what QEMU was seen to accept. Arguments of migrate and
 * migrate-incoming carry a per-run temporary path and are not compared. */
void qmp_replay_check_requests(FakeQmpServer *server, const char *recording);

G_END_DECLS
