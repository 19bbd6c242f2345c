/*
 * The monotonic clock, the one every timeout, deadline and duration in
 * castiron is measured on; and the calling thread's CPU time, for
 * measuring a computation's own speed apart from the machine's load.
 */
#ifndef CASTIRON_LIB_CLOCK_H
#define CASTIRON_LIB_CLOCK_H

#include <stdint.h>

uint64_t	mono_ms(void);
uint64_t	mono_us(void);
uint64_t	thread_cpu_us(void);

#endif
