/* cell.h -- the cell shared by a unit built with the current memo.h and one
 * built with an older 0.1 header (tests/abi/run.sh). */
#ifndef ABI_CELL_H
#define ABI_CELL_H
#include <stdint.h>
/* which header each unit got, for the report */
const char *old_unit_version(void);
const char *new_unit_version(void);
/* the shared cell lives in the old unit (old_unit.c), built with the old header */
void *old_cell(void);
/* get, reset, acquire/release through each header's code */
int old_get(void **v);
int new_get(void **v);
int old_reset(void);
int new_reset(void);
int old_acquire(void **v, void **lease_out);
int old_release(void *lease);
int new_acquire(void **v, void **lease_out);
int new_release(void *lease);
uint32_t old_waits(void);
/* the constructor: gated by the test, counted */
void gate_hold(void);
void gate_wait_entered(void);
void gate_release(void);
int ctor_calls(void);
int dtor_calls(void);
#endif
