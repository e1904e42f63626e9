/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy engine's public headers in one include. */
#pragma once

#include "fpb-cost-model.h"
#include "fpb-hint-guard.h"
#include "fpb-policy-decision.h"
#include "fpb-policy-facts.h"
#include "fpb-policy-history.h"
#include "fpb-policy-method.h"
#include "fpb-policy-mode.h"
#include "fpb-policy-prediction.h"
#include "fpb-policy-prep.h"
#include "fpb-policy-reason.h"
#include "fpb-policy-rules.h"
