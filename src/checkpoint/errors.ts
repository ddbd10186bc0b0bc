/**
 * Why an image could not be made or used. `where` names the place: a header
 * field, a section, or a path into the metadata (`processes[2].vmas[0]`);
 * `message` says what is wrong there, and repeats the place.
 */
export interface CheckpointError {
  readonly where: string;
  readonly message: string;
}

/** A CheckpointError at `where`. */
export function checkpointError(where: string, what: string): CheckpointError {
  return { where, message: `${where}: ${what}` };
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
