/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the cffi extension compiles against: the API and its types. */
#ifndef PROCVMA_H
#define PROCVMA_H

#include "api.h"

#endif
