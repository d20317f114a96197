/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the cffi extension compiles against: every API, kernel's first. */
#ifndef PROCVMA_H
#define PROCVMA_H

#include "kernel/api.h"
#include "harness/api.h"
#include "torture/api.h"

#endif
