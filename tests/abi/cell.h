/* cell.h -- the interface between abi_main.c and the two units of one program
 * (tests/abi/run.sh): old_unit.c, built with the frozen 0.1 header, owns one
 * cell; new_unit.c, built with include/memo.h (0.2), owns another.  The two
 * versions do not share a cell (memo_t's layout past state_ changed between
 * minor versions); they share the program-wide weak tables, so each unit only
 * ever touches its own cell through its own header's code. */
#ifndef ABI_CELL_H
#define ABI_CELL_H
#include <stddef.h>
#include <stdint.h>

/* The constructor and destructor both cells use (abi_main.c): gated by the
 * test, counted per unit.  Each cell's arg is its unit's counter. */
struct abi_unit;
extern struct abi_unit abi_old_unit, abi_new_unit;
int abi_ctor(void *arg, void **out);
void abi_dtor(void *arg, void *v);

/* which header each unit got, for the report */
const char *old_unit_version(void);
const char *new_unit_version(void);
/* each unit's own cell, through its own header's code */
void *old_cell(void);
void *new_cell(void);
int old_get(void **v);
int new_get(void **v);
int old_peek(void **v);
int new_peek(void **v);
int old_reset(void);
int new_reset(void);
int old_acquire(void **v, void **lease_out);
int old_release(void *lease);
int new_acquire(void **v, void **lease_out);
int new_release(void *lease);
uint32_t old_waits(void);
uint32_t new_waits(void);
/* 1 if the cell's state_ word has WAITERS (bit 2, frozen since 0.1) set */
int old_has_waiters(void);
int new_has_waiters(void);
/* offsets of the frozen prefix (slot_, state_) as each header lays it out */
size_t old_offset_slot(void);
size_t old_offset_state(void);
size_t new_offset_slot(void);
size_t new_offset_state(void);
/* the shared park table as each unit links it; NULL where the unit has none
 * (the 0.1 header defines it only with MEMO_NO_FUTEX) */
const void *old_park_table(void);
const void *new_park_table(void);
/* 0.2 only: memo_shutdown(), and the program-wide registry (the number of
 * entries that name `cell`, and of live entries) */
int new_shutdown(void);
size_t new_registry_entries_for(const void *cell);
size_t new_registry_live(void);
#endif
