/*
 * crashpoint.h -- named instants where a test can make the process die as
 * if killed (SIGKILL), to prove that a restart from any of them loses
 * nothing (t/crash.t).
 *
 * LUTRA_CRASHPOINT=NAME:N in the environment kills the process the N-th time
 * crashpoint(NAME) is reached (N from 1). Unset, a crashpoint costs one
 * predictable branch. Read once, at the first call.
 *
 * The points (docs/state.md):
 *   order-committed   an order's write-ahead is committed, its request not sent
 *   cancel-committed  a cancel (pending_cancel) is committed, its request not sent
 *   fill-received     a venue's fill is in the OMS, not yet committed
 *   batch-committed   a batch is committed, nothing queued behind it done yet
 */
#ifndef LUTRA_CRASHPOINT_H
#define LUTRA_CRASHPOINT_H

void crashpoint(const char *name);

#endif
