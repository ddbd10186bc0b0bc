/**
 * Bind-mount mode strings as iSulad validates them
 * (src/utils/cutils/utils_verify.c, util_valid_mount_mode).
 */

/** The four groups of mode pieces; a mode string may use each group at most once. */
const GROUPS: readonly (readonly string[])[] = [['rw', 'ro'], ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared'], ['z', 'Z'], ['nocopy']];

/**
 * True when `mode` is a valid mount mode: comma-separated pieces, each
 * exactly (case-sensitively) one of the known words, no group twice.
 *
 * iSulad splits with strtok, so empty pieces between commas vanish; but a
 * string made only of commas yields the one empty piece its split helper
 * returns for "no tokens" (utils_string.c make_empty_array), and that piece
 * matches nothing.
 */
export function isValidMountMode(mode: string): boolean {
  const pieces = modePieces(mode);
  const used = new Set<number>();
  for (const piece of pieces.length === 0 ? [''] : pieces) {
    const group = GROUPS.findIndex((words) => words.includes(piece));
    if (group < 0 || used.has(group)) return false;
    used.add(group);
  }
  return true;
}

/**
 * True when the container's view of the channel is read-only: the stored
 * permission string contains the piece `ro` (the runtime receives it as a
 * bind-mount option, specs_mount.c add_host_channel_mount).
 */
export function isReadOnlyMode(permissions: string): boolean {
  return modePieces(permissions).includes('ro');
}

/** The non-empty comma-separated pieces of a mode string. */
function modePieces(mode: string): string[] {
  return mode.split(',').filter((piece) => piece !== '');
}
