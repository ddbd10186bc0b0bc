/**
 * Why an image could not be made or used. `where` names the place: a header
 * field, a section, or a path into the metadata (`processes[2].vmas[0]`);
 * `message` says what is wrong there, and repeats the place.
 */
export interface CheckpointError {
  readonly where: string;
  readonly message: string;
  /**
   * EBUSY when the kernel is in a state a checkpoint must wait out (a
   * worker thread blocked in a call), rather than one an image cannot
   * describe at all; ENOMEM when the host had no memory for a restore's
   * pages (the image may restore where there is more); absent otherwise.
   */
  readonly errno?: 'EBUSY' | 'ENOMEM';
}

/** A CheckpointError at `where`. */
export function checkpointError(where: string, what: string): CheckpointError {
  return { where, message: `${where}: ${what}` };
}

/** A CheckpointError at `where` that passes once the kernel has moved on (errno EBUSY). */
export function busyError(where: string, what: string): CheckpointError {
  return { where, message: `${where}: ${what}`, errno: 'EBUSY' };
}

/**
 * A CheckpointError raised deep inside a walk over a kernel or a check of
 * an image, where threading an Either through every step would bury the
 * logic; the entry point catches it and returns it as a Left.
 */
export class CheckpointFailure extends Error {
  constructor(readonly error: CheckpointError) {
    super(error.message);
  }
}

/** Raises a CheckpointFailure at `where` unless `ok`. */
export function check(ok: boolean, where: string, what: string): void {
  if (!ok) throw new CheckpointFailure(checkpointError(where, what));
}
