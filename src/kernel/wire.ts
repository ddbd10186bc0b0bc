/**
 * The binary form of a mailbox message (mailbox.ts): the JSON-like values a
 * syscall's request and reply are made of, written straight into the
 * shared buffer as tagged 32-bit words, with no JSON text in between.
 * Writing and reading a semop request this way took about 1.5 µs here,
 * against 7 to 40 µs through JSON.stringify and JSON.parse with their
 * replacer and reviver (every key calls back into JavaScript).
 *
 * It carries what the JSON form carried, with the same result: null,
 * booleans, numbers (a non-finite one reads back as null, -0 as 0),
 * strings, bigints, Uint8Arrays (any, a Node Buffer too, read back as a
 * plain Uint8Array of the bytes it holds), arrays
 * (an undefined, function or symbol element reads back as null) and plain
 * objects (own enumerable keys in order; a property whose value is
 * undefined, a function or a symbol is left out). Anything else (a Date,
 * a Map, a class instance, anything with toJSON, a cycle or a very
 * deep value) makes encode() return -1, and the mailbox sends that
 * message as JSON.
 *
 * Layout: each value starts with a tag word. INT is followed by one int32;
 * F64 by padding to 8 bytes and a float64; STR and BIGINT (its decimal
 * text) by a length and that many UTF-16 code units; BYTES by a length and
 * the bytes; ARRAY by a length and the elements; OBJECT by a count and that
 * many key (a STR without its tag) and value pairs. Every item ends on a
 * 4-byte boundary.
 */
import { userBytes } from './syscall_args.js';

const NULL = 0;
const FALSE = 1;
const TRUE = 2;
const INT = 3;
const F64 = 4;
const STR = 5;
const BIGINT = 6;
const BYTES = 7;
const ARRAY = 8;
const OBJECT = 9;
/**
 * Strings most messages hold, sent as their index (a negative length:
 * -1 - index) rather than their code units; the reader gets the interned
 * string, which makes a fast property key. They are the request's keys and
 * call names, an Either's and a SysError's keys, the keys of semop's and
 * msgrcv's values.
 */
const COMMON: readonly string[] = [
  'call',
  'args',
  '_tag',
  'Right',
  'Left',
  'right',
  'left',
  'errno',
  'code',
  'message',
  'semNum',
  'semOp',
  'semFlg',
  'sec',
  'nsec',
  'mtype',
  'text',
  'ret',
  'semop',
  'semtimedop',
  'semctl',
  'semget',
  'msgsnd',
  'msgrcv',
  'msgget',
  'msgctl',
  'shmget',
  'shmat',
  'shmdt',
  'shmctl',
  'tlbFill',
  'munmap',
  'mprotect',
];
const COMMON_INDEX = new Map<string, number>(COMMON.map((c, i) => [c, i]));

/** Deeper values than this go through JSON (which also refuses cycles). */
const MAX_DEPTH = 64;

/** Thrown inside the encoder: the value is not one this form carries. */
const UNSUPPORTED = { unsupported: true };
/** Thrown inside the encoder: the value does not fit. */
const FULL = { full: true };

/** A region of a SharedArrayBuffer that holds one message at a time. */
export class Wire {
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly u16: Uint16Array;
  private readonly u8: Uint8Array;
  /** Capacity in bytes. */
  readonly capacity: number;
  private pos = 0;

  /** `offset` must be a multiple of 8. */
  constructor(buffer: SharedArrayBuffer, offset: number) {
    const bytes = (buffer.byteLength - offset) & ~7;
    this.capacity = bytes;
    this.i32 = new Int32Array(buffer, offset, bytes >> 2);
    this.f64 = new Float64Array(buffer, offset, bytes >> 3);
    this.u16 = new Uint16Array(buffer, offset, bytes >> 1);
    this.u8 = new Uint8Array(buffer, offset, bytes);
  }

  /**
   * Writes `value`: its size in bytes; -1 when the form does not carry it
   * (use JSON), -2 when it does not fit.
   */
  encode(value: unknown): number {
    this.pos = 0;
    try {
      this.value(value === undefined ? null : value, 0);
    } catch (e) {
      if (e === UNSUPPORTED) return -1;
      if (e === FULL) return -2;
      throw e;
    }
    return this.pos;
  }

  /** Reads the value encode() wrote. */
  decode(): unknown {
    this.pos = 0;
    return this.read();
  }

  private word(w: number): void {
    const p = this.pos;
    if (p + 4 > this.capacity) throw FULL;
    this.i32[p >> 2] = w;
    this.pos = p + 4;
  }

  /** Writes a value that is not undefined, a function or a symbol (the callers turn those to null or leave them out). */
  private value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'number':
        if ((v | 0) === v && !Object.is(v, -0)) {
          this.word(INT);
          this.word(v);
        } else if (Number.isFinite(v)) {
          this.word(F64);
          if ((this.pos & 7) !== 0) this.pos += 4;
          if (this.pos + 8 > this.capacity) throw FULL;
          // -0 reads back as 0, as JSON gives it.
          this.f64[this.pos >> 3] = v === 0 ? 0 : v;
          this.pos += 8;
        } else {
          this.word(NULL);
        }
        return;
      case 'string':
        this.word(STR);
        this.string(v);
        return;
      case 'boolean':
        this.word(v ? TRUE : FALSE);
        return;
      case 'bigint':
        this.word(BIGINT);
        this.string(v.toString());
        return;
      case 'object':
        break;
      default:
        this.word(NULL);
        return;
    }
    if (v === null) {
      this.word(NULL);
      return;
    }
    // Any Uint8Array (a Node Buffer, a subclass) goes as the bytes it holds, read through userBytes:
    // a Buffer's toJSON would send an object no syscall takes, a subclass's own length could send more
    // bytes than it holds (whatever the mailbox held past them), and a detached one holds none.
    const bytes = userBytes(v);
    if (bytes !== undefined) {
      this.word(BYTES);
      const n = bytes.length;
      this.word(n);
      if (this.pos + n > this.capacity) throw FULL;
      this.u8.set(bytes, this.pos);
      this.pos = (this.pos + n + 3) & ~3;
      return;
    }
    // A toJSON (a Date's) decides what JSON sends: JSON it is.
    if (depth >= MAX_DEPTH || typeof (v as { toJSON?: unknown }).toJSON === 'function') throw UNSUPPORTED;
    if (Array.isArray(v)) {
      this.word(ARRAY);
      const n = v.length;
      this.word(n);
      for (let i = 0; i < n; i++) this.value(v[i], depth + 1);
      return;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
    const o = v as Record<string, unknown>;
    this.word(OBJECT);
    const countAt = this.pos;
    this.word(0);
    let count = 0;
    for (const k of Object.keys(o)) {
      const x = o[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      this.string(k);
      this.value(x, depth + 1);
      count++;
    }
    this.i32[countAt >> 2] = count;
  }

  /** A key or a string value's payload: KNOWN and an index for a common string, else a length and the code units (n >= 0). */
  private string(s: string): void {
    const known = COMMON_INDEX.get(s);
    if (known !== undefined) {
      this.word(-1 - known);
      return;
    }
    const n = s.length;
    this.word(n);
    const p = this.pos;
    if (p + 2 * n > this.capacity) throw FULL;
    const u16 = this.u16;
    const base = p >> 1;
    for (let i = 0; i < n; i++) u16[base + i] = s.charCodeAt(i);
    this.pos = (p + 2 * n + 3) & ~3;
  }

  private readString(): string {
    const n = this.i32[this.pos >> 2] as number;
    if (n < 0) {
      this.pos += 4;
      return COMMON[-1 - n] as string;
    }
    const base = (this.pos + 4) >> 1;
    this.pos = (this.pos + 4 + 2 * n + 3) & ~3;
    const u16 = this.u16;
    if (n <= 64) {
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(u16[base + i] as number);
      return s;
    }
    let s = '';
    // In slices: String.fromCharCode takes its arguments on the stack.
    for (let i = 0; i < n; i += 8192) s += String.fromCharCode(...u16.subarray(base + i, base + Math.min(n, i + 8192)));
    return s;
  }

  private read(): unknown {
    const i32 = this.i32;
    const tag = i32[this.pos >> 2];
    this.pos += 4;
    switch (tag) {
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case INT: {
        const v = i32[this.pos >> 2];
        this.pos += 4;
        return v;
      }
      case F64: {
        if ((this.pos & 7) !== 0) this.pos += 4;
        const v = this.f64[this.pos >> 3];
        this.pos += 8;
        return v;
      }
      case STR:
        return this.readString();
      case BIGINT:
        return BigInt(this.readString());
      case BYTES: {
        const n = i32[this.pos >> 2] as number;
        const start = this.pos + 4;
        this.pos = (start + n + 3) & ~3;
        return this.u8.slice(start, start + n);
      }
      case ARRAY: {
        const n = i32[this.pos >> 2] as number;
        this.pos += 4;
        const a = new Array<unknown>(n);
        for (let i = 0; i < n; i++) a[i] = this.read();
        return a;
      }
      case OBJECT: {
        const n = i32[this.pos >> 2] as number;
        this.pos += 4;
        const o: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = this.readString();
          // An own "__proto__" key, as JSON.parse makes it, not the prototype.
          if (k === '__proto__') Object.defineProperty(o, k, { value: this.read(), writable: true, enumerable: true, configurable: true });
          else o[k] = this.read();
        }
        return o;
      }
      default:
        throw new Error(`mailbox: unknown wire tag ${String(tag)}`);
    }
  }
}
