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
