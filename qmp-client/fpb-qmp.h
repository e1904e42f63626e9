/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The QMP client library, all of it. See docs/qmp-client.md. */
#pragma once

#include "fpb-qmp-error.h"
#include "fpb-qmp-json.h"
#include "fpb-qmp-version.h"
#include "fpb-qmp-client.h"
#include "fpb-qmp-machine.h"
#include "fpb-qmp-balloon.h"
#include "fpb-qmp-virtio.h"
#include "fpb-qmp-dirty-rate.h"
#include "fpb-qmp-migration.h"
#include "fpb-qmp-event.h"
#include "fpb-qmp-hints.h"
