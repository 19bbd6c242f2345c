/*
 * The monotonic clock, the one every timeout, deadline and duration in
 * castiron is measured on.
 */
#ifndef CASTIRON_LIB_CLOCK_H
#define CASTIRON_LIB_CLOCK_H

#include <stdint.h>

uint64_t	mono_ms(void);
uint64_t	mono_us(void);

#endif
