// SPDX-License-Identifier: GPL-2.0
/*
 * fpb_balloon_faults.ko: fpb_balloon.c built with its fault injection
 * (FPB_BALLOON_FAULTS, the module parameters fault= and fault_mib=), for
 * the test guest only: a guest that lies or stalls, so the host's tests
 * can check that fpb does not drive it into OOM (issue 20 item 6). Never
 * installed; the shipped module is fpb_balloon.ko, without these knobs.
 */
#define FPB_BALLOON_FAULTS 1
#include "fpb_balloon.c"
