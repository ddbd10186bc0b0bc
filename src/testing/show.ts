/**
 * A short, single-line rendering of any value for matcher messages and run
 * traces. It never throws and never loops: cycles print as [Circular], deep
 * structures are cut off, and long output is truncated. No test runner's
 * pretty-printer is used, so messages read the same under vitest, jest or a
 * direct call.
 */

const MAX_DEPTH = 4;
const MAX_ITEMS = 12;
const MAX_CHARS = 300;

/** `value` as one line of at most about 300 characters. */
export function show(value: unknown): string {
  const text = render(value, 0, new Set());
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS - 1)}…` : text;
}

/** A number in hexadecimal, as addresses are usually read. */
export function hex(n: number | bigint): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

function render(v: unknown, depth: number, seen: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'boolean':
    case 'undefined':
      return String(v);
    case 'symbol':
      return v.toString();
    case 'function':
      return `[Function ${v.name === '' ? '(anonymous)' : v.name}]`;
  }
  if (v === null) return 'null';
  const obj = v as object;
  if (seen.has(obj)) return '[Circular]';
  if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
    const items = Array.from(obj as unknown as ArrayLike<number | bigint>, (x) => String(x));
    return `${obj.constructor.name}[${list(items)}]`;
  }
  const asym = asymmetric(obj, depth, seen);
  if (asym !== undefined) return asym;
  if (depth >= MAX_DEPTH) return Array.isArray(obj) ? '[…]' : '{…}';
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return `[${list(obj.map((x) => render(x, depth + 1, seen)))}]`;
    if (obj instanceof Error) return `${obj.name}: ${obj.message}`;
    if (obj instanceof Map) return `Map{${list([...obj].map(([k, x]) => `${render(k, depth + 1, seen)} => ${render(x, depth + 1, seen)}`))}}`;
    if (obj instanceof Set) return `Set{${list([...obj].map((x) => render(x, depth + 1, seen)))}}`;
    const proto = Object.getPrototypeOf(obj) as object | null;
    const name = proto === null || proto === Object.prototype ? '' : `${(proto.constructor as { name?: string } | undefined)?.name ?? ''} `;
    const fields = Object.keys(obj).map(
      (k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${render((obj as Record<string, unknown>)[k], depth + 1, seen)}`,
    );
    return fields.length === 0 ? `${name}{}` : `${name}{ ${list(fields)} }`;
  } finally {
    seen.delete(obj);
  }
}

/** A runner's asymmetric matcher (expect.any(Number), expect.objectContaining({...})) as the runner names it. */
function asymmetric(obj: object, depth: number, seen: Set<object>): string | undefined {
  const m = obj as { asymmetricMatch?: unknown; toAsymmetricMatcher?: unknown; sample?: unknown };
  if (typeof m.asymmetricMatch !== 'function') return undefined;
  try {
    if (typeof m.toAsymmetricMatcher === 'function') return String((m.toAsymmetricMatcher as () => unknown).call(obj));
    const name = String(obj);
    return 'sample' in m ? `${name} ${render(m.sample, depth + 1, seen)}` : name;
  } catch {
    return 'AsymmetricMatcher';
  }
}

function list(items: readonly string[]): string {
  if (items.length <= MAX_ITEMS) return items.join(', ');
  return `${items.slice(0, MAX_ITEMS).join(', ')}, … ${items.length - MAX_ITEMS} more`;
}
