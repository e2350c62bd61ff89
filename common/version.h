/* SPDX-License-Identifier: MIT */
/* version.h: the one version string every berth program reports. */
#ifndef BERTH_VERSION_H
#define BERTH_VERSION_H

#define BERTH_VERSION "0.1.0"

#endif
