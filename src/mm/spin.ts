/**
 * The adaptive poll a thread makes before it sleeps in Atomics.wait, shared
 * by a futex wait (FutexQueue.wait) and a call's wait for the kernel
 * thread's reply (Mailbox.call). Each keeps the length of its next poll: a
 * poll that caught what it waited for doubles it, one that ran out halves
 * it, always within [floor, cap], so polling fades out where it does not
 * pay (a busy machine) and stays where it does. A futex wait's floor is
 * spinFloor(cap); a mailbox call's is MIN_SPIN (see Mailbox.call for why).
 */

/** The fewest polls an adaptive wait makes, whatever its cap. */
export const MIN_SPIN = 64;

/**
 * The shortest poll a wait whose cap is `spin` adapts down to: a sixteenth
 * of the cap (a microsecond or two at the worker's 20,000), long enough for
 * a waker, or a kernel thread's reply, that is running on another CPU to
 * land inside it, so that polling can start paying again. A shorter floor
 * was a trap: once a few waits in a row had slept (the other thread asleep
 * too), polls of 64 loads could no longer catch anything, never doubled,
 * and every wait after slept (futex-pingpong ran at about 21 k round
 * trips/s where it now runs at about 200 k on this 2-vCPU machine). What a
 * wait that sleeps anyway wastes stays bounded by the floor.
 */
export const spinFloor = (spin: number): number => Math.max(MIN_SPIN, spin >> 4);

/** The next poll's length after a poll of `budget` under cap `spin`: doubled when it `caught` its event, else halved, never below `floor`. */
export function nextSpin(budget: number, spin: number, caught: boolean, floor = spinFloor(spin)): number {
  return caught ? Math.min(spin, Math.max(floor, budget * 2)) : Math.max(floor, budget >> 1);
}
